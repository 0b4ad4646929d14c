package lab

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// scaffoldFS is the template of `backlab lab new`: a small lab that works
// as it is (see [Scaffold]). Go files carry a .tmpl suffix so that the
// template is not compiled as part of this package.
//
//go:embed all:scaffold
var scaffoldFS embed.FS

// ScaffoldPlaceholder is replaced by the lab id in every template file.
const ScaffoldPlaceholder = "__LAB_ID__"

// ValidateName reports what is wrong with a lab id, or nil. A lab id is
// also the name of its folder.
func ValidateName(id string) error {
	switch {
	case id == "":
		return errors.New("the lab name is empty: give a name like orders-n-plus-one")
	case len(id) > 63:
		return fmt.Errorf("the lab name %q is %d characters long; use at most 63", id, len(id))
	case !namePattern.MatchString(id):
		return fmt.Errorf("the lab name %q is not valid: use lowercase letters a-z, digits and dashes, starting with a letter or digit (e.g. orders-n-plus-one)", id)
	}
	return nil
}

// ScaffoldFiles returns the files of a new lab named id, keyed by slash
// path relative to the lab's folder, with the placeholder replaced.
// Executable files (shell scripts with a #! line) are listed in exec.
func ScaffoldFiles(id string) (files map[string][]byte, exec map[string]bool, err error) {
	if err := ValidateName(id); err != nil {
		return nil, nil, err
	}
	files, exec = map[string][]byte{}, map[string]bool{}
	err = fs.WalkDir(scaffoldFS, "scaffold", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := scaffoldFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "scaffold/"), ".tmpl")
		files[rel] = bytes.ReplaceAll(data, []byte(ScaffoldPlaceholder), []byte(id))
		if bytes.HasPrefix(data, []byte("#!")) {
			exec[rel] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the lab template: %w", err)
	}
	return files, exec, nil
}

// Scaffold creates a working lab named id in the folder dir, whose last
// element must be id (a lab's id equals its folder's name). It refuses to
// touch a folder that already exists, so nothing saved is ever
// overwritten. The lab's checker imports the checker SDK, so it builds
// only when dir lies inside the backlab module (e.g. in labs/).
func Scaffold(dir, id string) error {
	if err := ValidateName(id); err != nil {
		return err
	}
	if base := filepath.Base(filepath.Clean(dir)); base != id {
		return fmt.Errorf("the lab folder %s must be named like the lab (%s)", dir, id)
	}
	files, exec, err := ScaffoldFiles(id)
	if err != nil {
		return err
	}
	if rel, ok := schemaFrom(dir); ok {
		files[FileName] = bytes.Replace(files[FileName], []byte("$schema=../lab.schema.json"), []byte("$schema="+rel), 1)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	// Mkdir (not MkdirAll) fails when dir exists: the one check that
	// cannot race with another process creating it.
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; choose another name or remove that folder first (nothing was changed)", dir)
		}
		return fmt.Errorf("create %s: %w", dir, err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		target := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return scaffoldFailed(dir, err)
		}
		mode := os.FileMode(0o644)
		if exec[n] {
			mode = 0o755
		}
		if err := os.WriteFile(target, files[n], mode); err != nil {
			return scaffoldFailed(dir, err)
		}
		if err := os.Chmod(target, mode); err != nil { // umask may have cut the x bit
			return scaffoldFailed(dir, err)
		}
	}
	return nil
}

// scaffoldFailed removes the half-written lab folder, which Scaffold
// created itself and which held nothing before.
func scaffoldFailed(dir string, err error) error {
	_ = os.RemoveAll(dir)
	return fmt.Errorf("scaffold %s: %w", dir, err)
}

// schemaFrom finds lab.schema.json for a lab made in dir: the parent
// folder's own (labs/), or the module's labs/lab.schema.json above it. It
// returns the path relative to dir, in slash form.
func schemaFrom(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		for _, cand := range []string{filepath.Join(d, "lab.schema.json"), filepath.Join(d, filepath.FromSlash(SchemaFile))} {
			if _, err := os.Stat(cand); err == nil {
				rel, err := filepath.Rel(abs, cand)
				if err != nil {
					return "", false
				}
				return filepath.ToSlash(rel), true
			}
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}
