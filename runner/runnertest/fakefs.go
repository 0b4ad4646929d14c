package runnertest

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// memFS is a tree of files kept in memory: a service's root file system or
// a sandbox volume. Paths are absolute and clean within the tree ("/" is
// its root). It is safe for concurrent use.
type memFS struct {
	mu    sync.Mutex
	nodes map[string]*node
}

// node is one file or folder of a [memFS].
type node struct {
	dir      bool
	data     []byte
	mode     fs.FileMode // permission bits
	uid, gid int
	mtime    time.Time
}

func newMemFS() *memFS {
	return &memFS{nodes: map[string]*node{"/": {dir: true, mode: 0o755, mtime: time.Now()}}}
}

// clone copies the tree (a fresh volume or root from an image).
func (m *memFS) clone() *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &memFS{nodes: make(map[string]*node, len(m.nodes))}
	for p, n := range m.nodes {
		cp := *n
		cp.data = bytes.Clone(n.data)
		c.nodes[p] = &cp
	}
	return c
}

// subtree copies what lies under dir into a new tree rooted there.
func (m *memFS) subtree(dir string) *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := newMemFS()
	if root, ok := m.nodes[dir]; ok && root.dir {
		cp := *root
		c.nodes["/"] = &cp
	}
	for p, n := range m.nodes {
		if rel, ok := under(dir, p); ok && rel != "/" {
			cp := *n
			cp.data = bytes.Clone(n.data)
			c.nodes[rel] = &cp
		}
	}
	return c
}

// under reports p relative to dir ("/" for dir itself) when p lies in dir.
func under(dir, p string) (string, bool) {
	if dir == "/" {
		return p, true
	}
	if p == dir {
		return "/", true
	}
	if strings.HasPrefix(p, dir+"/") {
		return p[len(dir):], true
	}
	return "", false
}

func pathErr(op, p string, err error) error { return &fs.PathError{Op: op, Path: p, Err: err} }

// mkdirAll makes p and its parents, owned by uid:gid.
func (m *memFS) mkdirAll(p string, uid, gid int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mkdirAllLocked(p, uid, gid)
}

func (m *memFS) mkdirAllLocked(p string, uid, gid int) error {
	if n, ok := m.nodes[p]; ok {
		if !n.dir {
			return pathErr("mkdir", p, fs.ErrExist)
		}
		return nil
	}
	if err := m.mkdirAllLocked(path.Dir(p), uid, gid); err != nil {
		return err
	}
	m.nodes[p] = &node{dir: true, mode: 0o755, uid: uid, gid: gid, mtime: time.Now()}
	return nil
}

// writeFile replaces (or creates) a file, its folder made as needed.
func (m *memFS) writeFile(p string, data []byte, mode fs.FileMode, uid, gid int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mkdirAllLocked(path.Dir(p), uid, gid); err != nil {
		return err
	}
	if n, ok := m.nodes[p]; ok && n.dir {
		return pathErr("open", p, errors.New("is a directory"))
	}
	m.nodes[p] = &node{data: bytes.Clone(data), mode: mode, uid: uid, gid: gid, mtime: time.Now()}
	return nil
}

// stat returns a copy of the node at p.
func (m *memFS) stat(p string) (node, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[p]
	if !ok {
		return node{}, false
	}
	cp := *n
	cp.data = nil
	return cp, true
}

// readFile returns the content of the file at p.
func (m *memFS) readFile(p string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[p]
	switch {
	case !ok:
		return nil, pathErr("open", p, fs.ErrNotExist)
	case n.dir:
		return nil, pathErr("read", p, errors.New("is a directory"))
	}
	return bytes.Clone(n.data), nil
}

// list returns the names in folder p, sorted.
func (m *memFS) list(p string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.nodes[p]; !ok || !n.dir {
		return nil, pathErr("readdir", p, fs.ErrNotExist)
	}
	var names []string
	for q := range m.nodes {
		if q != "/" && q != p && path.Dir(q) == p {
			names = append(names, path.Base(q))
		}
	}
	sort.Strings(names)
	return names, nil
}

// remove deletes p and, when it is a folder, everything in it.
func (m *memFS) remove(p string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.nodes[p]; !ok {
		return pathErr("remove", p, fs.ErrNotExist)
	}
	for q := range m.nodes {
		if _, ok := under(p, q); ok {
			delete(m.nodes, q)
		}
	}
	return nil
}

// update changes the node at p in place.
func (m *memFS) update(p string, fn func(*node)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[p]
	if !ok {
		return pathErr("chmod", p, fs.ErrNotExist)
	}
	fn(n)
	return nil
}

// fileInfo is an [fs.FileInfo] of a node.
type fileInfo struct {
	name string
	n    node
}

func (fi fileInfo) Name() string { return fi.name }
func (fi fileInfo) Size() int64  { return int64(len(fi.n.data)) }
func (fi fileInfo) Mode() fs.FileMode {
	if fi.n.dir {
		return fs.ModeDir | fi.n.mode
	}
	return fi.n.mode
}
func (fi fileInfo) ModTime() time.Time { return fi.n.mtime }
func (fi fileInfo) IsDir() bool        { return fi.n.dir }
func (fi fileInfo) Sys() any           { return nil }

// mountPoint attaches a volume at a path of a view.
type mountPoint struct {
	path     string
	fs       *memFS
	readOnly bool
}

// view is the file system one container sees: its root tree with the
// sandbox volumes mounted on it.
type view struct {
	root   *memFS
	mounts []mountPoint // longest path first
}

func newView(root *memFS, mounts []mountPoint) *view {
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].path) > len(mounts[j].path) })
	return &view{root: root, mounts: mounts}
}

// resolve returns the tree holding the absolute path p, p within that
// tree, and whether it is mounted read-only.
func (v *view) resolve(p string) (*memFS, string, bool) {
	p = path.Clean("/" + p)
	for _, m := range v.mounts {
		if rel, ok := under(m.path, p); ok {
			return m.fs, rel, m.readOnly
		}
	}
	return v.root, p, false
}

// errReadOnly is what writing to a read-only mount fails with.
var errReadOnly = errors.New("read-only file system")

// writable resolves p for a change, failing on a read-only mount.
func (v *view) writable(op, p string) (*memFS, string, error) {
	t, rel, ro := v.resolve(p)
	if ro {
		return nil, "", pathErr(op, p, errReadOnly)
	}
	return t, rel, nil
}

// Stat returns the file info of the absolute path p.
func (v *view) Stat(p string) (fs.FileInfo, error) {
	t, rel, _ := v.resolve(p)
	n, ok := t.stat(rel)
	if !ok {
		return nil, pathErr("stat", p, fs.ErrNotExist)
	}
	return fileInfo{name: path.Base(p), n: n}, nil
}

// node returns the node at p.
func (v *view) node(p string) (node, bool) {
	t, rel, _ := v.resolve(p)
	return t.stat(rel)
}

// ReadFile returns the content of the file at the absolute path p.
func (v *view) ReadFile(p string) ([]byte, error) {
	t, rel, _ := v.resolve(p)
	b, err := t.readFile(rel)
	if err != nil {
		return nil, pathErr("open", p, errors.Unwrap(err))
	}
	return b, nil
}

// WriteFile replaces the file at the absolute path p, keeping the mode
// of a file it replaces.
func (v *view) WriteFile(p string, data []byte, uid, gid int) error {
	t, rel, err := v.writable("open", p)
	if err != nil {
		return err
	}
	if parent, ok := t.stat(path.Dir(rel)); !ok || !parent.dir {
		return pathErr("open", p, fs.ErrNotExist)
	}
	mode := fs.FileMode(0o644)
	if old, ok := t.stat(rel); ok {
		if old.dir {
			return pathErr("open", p, errors.New("is a directory"))
		}
		mode, uid, gid = old.mode, old.uid, old.gid
	}
	return t.writeFile(rel, data, mode, uid, gid)
}

// List returns the names in the folder p, with the mount points in it.
func (v *view) List(p string) ([]string, error) {
	t, rel, _ := v.resolve(p)
	names, err := t.list(rel)
	if err != nil {
		return nil, pathErr("readdir", p, fs.ErrNotExist)
	}
	for _, m := range v.mounts {
		if path.Dir(m.path) == path.Clean(p) && !containsString(names, path.Base(m.path)) {
			names = append(names, path.Base(m.path))
		}
	}
	sort.Strings(names)
	return names, nil
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// extractTar unpacks a tar stream into dir of v, as a container engine's
// copy does: owners and modes as in the headers.
func (v *view) extractTar(dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		p := path.Join(dir, h.Name)
		t, rel, err := v.writable("copy", p)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := t.mkdirAll(rel, h.Uid, h.Gid); err != nil {
				return err
			}
			_ = t.update(rel, func(n *node) { n.mode, n.uid, n.gid = fs.FileMode(h.Mode).Perm(), h.Uid, h.Gid })
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("read tar entry %s: %w", h.Name, err)
			}
			if err := t.writeFile(rel, data, fs.FileMode(h.Mode).Perm(), h.Uid, h.Gid); err != nil {
				return err
			}
		default:
			return fmt.Errorf("tar entry %s: type %c is not supported by the fake", h.Name, h.Typeflag)
		}
	}
}

// devices are the special files every view has.
var devices = map[string]bool{"/dev/null": true, "/dev/zero": true, "/dev/stdout": true, "/dev/stderr": true}

// errNotExist tells whether err says a file is missing.
func errNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist)
}
