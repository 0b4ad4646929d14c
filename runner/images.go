package runner

import "errors"

// ImageSet names the images of one lab, resolved to references the engine
// runs: what an image builder hands to whoever starts the lab's sandbox.
type ImageSet struct {
	// Services maps a service name to its image reference.
	Services map[string]string
	// Checker is the checker's image reference.
	Checker string
}

// ErrImageMissing reports an image that must be built first. Image
// builders wrap it with the missing reference.
var ErrImageMissing = errors.New("image missing")
