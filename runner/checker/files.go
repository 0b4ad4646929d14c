package checker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxFileSize is the most [ReadFile] reads: 8 MiB, as [GetText] reads of
// a body.
const MaxFileSize = 8 << 20

var (
	// ErrNotRegular is what [ReadFile] answers for a path that is not a
	// regular file (a folder, device, named pipe or socket), or that is
	// or passes through a symbolic link.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is what [ReadFile] answers for a file larger than
	// [MaxFileSize].
	ErrTooLarge = errors.New("file too large")
)

// ReadFile returns a file's contents as a string (for files the lab mounts
// read-only into the checker).
//
// What it reads is often the learner's: their workspace may hold anything
// where a file is expected. So ReadFile reads only a regular file, reached
// without a symbolic link anywhere in path, and at most [MaxFileSize]
// bytes. A symbolic link, folder, device, named pipe or socket is refused
// with [ErrNotRegular] without being opened for reading (a pipe cannot
// make it wait); a larger file is refused with [ErrTooLarge].
func ReadFile(path string) (string, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		// It grew since it was opened, or it is a file of /proc that
		// claims no size.
		return "", tooLarge()
	}
	return string(b), nil
}

// tooLarge is the error for a file over the cap; it says what the cap is.
func tooLarge() error {
	return fmt.Errorf("%w: larger than %d MiB, the most checker.ReadFile reads", ErrTooLarge, MaxFileSize>>20)
}

// checkRegular refuses what is not a regular file no larger than the cap.
func checkRegular(mode fs.FileMode, size int64) error {
	if !mode.IsRegular() {
		return notRegular(mode)
	}
	if size > MaxFileSize {
		return tooLarge()
	}
	return nil
}

// notRegular says what a path holds instead of a regular file.
func notRegular(mode fs.FileMode) error {
	what := "not a file"
	switch {
	case mode&fs.ModeSymlink != 0:
		what = "a symbolic link"
	case mode.IsDir():
		what = "a folder"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("%w: it is %s; checker.ReadFile reads only regular files", ErrNotRegular, what)
}

// throughLink is the error for a path that passes through a symbolic
// link.
func throughLink(dir string) error {
	return fmt.Errorf("%w: it passes through %s, a symbolic link; checker.ReadFile follows none", ErrNotRegular, dir)
}

// sameFile reports whether the file opened for reading is the one that
// was checked, not one swapped in since.
func sameFile(f *os.File, checked fs.FileInfo) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(fi, checked) {
		return fmt.Errorf("%w: it changed while it was being opened", ErrNotRegular)
	}
	return checkRegular(fi.Mode(), fi.Size())
}
