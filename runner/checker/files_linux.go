package checker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// openRegular opens path for reading, one component at a time relative
// to the folder before it, so that no symbolic link is followed even if
// the path changes meanwhile. Each component is first opened as a path
// only (O_PATH), which neither reads it nor waits on a pipe; only a
// regular file is then opened for reading.
func openRegular(path string) (*os.File, error) {
	start := "."
	if filepath.IsAbs(path) {
		start = "/"
	}
	dir, err := unix.Open(start, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: start, Err: err}
	}
	defer func() { unix.Close(dir) }()
	var parts []string
	for p := range strings.SplitSeq(filepath.Clean(path), "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil, notRegular(os.ModeDir)
	}
	for i, name := range parts[:len(parts)-1] {
		fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			var st unix.Stat_t
			if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return nil, throughLink(joinParts(path, parts[:i+1]))
			}
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: joinParts(path, parts[:i+1]), Err: err}
		}
		unix.Close(dir)
		dir = fd
	}
	name := parts[len(parts)-1]
	fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	pf := os.NewFile(uintptr(fd), path)
	defer pf.Close()
	checked, err := pf.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkRegular(checked.Mode(), checked.Size()); err != nil {
		return nil, err
	}
	fd, err = unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if err := sameFile(f, checked); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// joinParts names the first components of path, for an error.
func joinParts(path string, parts []string) string {
	p := filepath.Join(parts...)
	if filepath.IsAbs(path) {
		p = "/" + p
	}
	return p
}
