//go:build !linux

package checker

import (
	"os"
	"path/filepath"
)

// openRegular opens path for reading after checking, with Lstat, that no
// component of it is a symbolic link. Checkers run on Linux, where
// files_linux.go does this without a window between check and open; this
// version lets the SDK build and be tried elsewhere.
func openRegular(path string) (*os.File, error) {
	clean := filepath.Clean(path)
	for dir := filepath.Dir(clean); ; dir = filepath.Dir(dir) {
		fi, err := os.Lstat(dir)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil, throughLink(dir)
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	checked, err := os.Lstat(clean)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(checked.Mode(), checked.Size()); err != nil {
		return nil, err
	}
	f, err := os.Open(clean)
	if err != nil {
		return nil, err
	}
	if err := sameFile(f, checked); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
