// Package filetree holds folders of text files in memory: it reads and
// writes them, turns the difference between two of them into a git-style
// unified diff, and applies such a diff. Lab variants are stored as these
// diffs against a base folder.
package filetree

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// File is one regular file: its bytes and whether it is executable.
type File struct {
	Data []byte
	Exec bool
}

// Tree is the files of a folder, keyed by slash path relative to the
// folder. Folders are implied by the files in them.
type Tree map[string]File

// Read loads every regular file under dir. Folders named .git are skipped;
// anything that is neither a file nor a folder (a symbolic link, a socket)
// is refused, since a patch cannot carry it.
func Read(dir string) (Tree, error) {
	t := Tree{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && p != dir {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: only files and folders can be part of a tree", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		t[filepath.ToSlash(rel)] = File{Data: data, Exec: info.Mode()&0o111 != 0}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return t, nil
}

// Paths returns the tree's file paths in sorted order.
func (t Tree) Paths() []string {
	ps := make([]string, 0, len(t))
	for p := range t {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Clone returns a copy of t that shares no map with it (file contents are
// never modified in place, so they are shared).
func (t Tree) Clone() Tree {
	c := make(Tree, len(t))
	for p, f := range t {
		c[p] = f
	}
	return c
}

// Overlay copies every file of top onto t, replacing files of the same
// path, as copying a folder onto another does.
func (t Tree) Overlay(top Tree) {
	for p, f := range top {
		t[p] = f
	}
}

// Equal reports whether t and o hold the same files with the same
// contents and executable bits.
func (t Tree) Equal(o Tree) bool {
	if len(t) != len(o) {
		return false
	}
	for p, f := range t {
		g, ok := o[p]
		if !ok || f.Exec != g.Exec || !bytes.Equal(f.Data, g.Data) {
			return false
		}
	}
	return true
}

// Write creates every file of t under dir (mode 0644, or 0755 when
// executable), making folders as needed. Files already in dir that t does
// not hold are left alone.
func (t Tree) Write(dir string) error {
	for _, p := range t.Paths() {
		f := t[p]
		target := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", dir, err)
		}
		mode := os.FileMode(0o644)
		if f.Exec {
			mode = 0o755
		}
		if err := os.WriteFile(target, f.Data, mode); err != nil {
			return fmt.Errorf("write %s: %w", dir, err)
		}
		if err := os.Chmod(target, mode); err != nil { // the umask may have cut bits
			return fmt.Errorf("write %s: %w", dir, err)
		}
	}
	return nil
}

// Changes returns what turns from into to: the files of to that from lacks
// or holds otherwise, and the paths of from that to lacks (sorted).
func Changes(from, to Tree) (write Tree, remove []string) {
	write = Tree{}
	for p, f := range to {
		if g, ok := from[p]; !ok || g.Exec != f.Exec || !bytes.Equal(g.Data, f.Data) {
			write[p] = f
		}
	}
	for _, p := range from.Paths() {
		if _, ok := to[p]; !ok {
			remove = append(remove, p)
		}
	}
	return write, remove
}

// checkPath refuses a path a patch must not name: absolute, empty, or
// climbing out of the tree.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return errors.New("the path must be relative and stay inside the folder")
	}
	return nil
}
