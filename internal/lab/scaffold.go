package lab

import "errors"

// Scaffold creates a working lab named id in dir.
func Scaffold(dir, id string) error {
	return errors.New("lab new: not built yet")
}
