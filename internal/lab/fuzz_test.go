package lab

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoad loads arbitrary lab.yaml text in a copy of each lab of labs/
// (the folder whose name the text's id names, so that the real labs'
// files exist). Whatever the text: Load does not panic; it fails with
// Problems, each naming the file and saying what is wrong; and a lab that
// loads, written back as YAML, loads again to the same lab.
func FuzzLoad(f *testing.F) {
	root := f.TempDir()
	labs, _ := filepath.Glob(filepath.Join("..", "..", "labs", "*", FileName))
	if len(labs) == 0 {
		f.Fatal("no labs in ../../labs")
	}
	dirs := map[string]string{}
	var first string
	for _, file := range labs {
		src := filepath.Dir(file)
		id := filepath.Base(src)
		dst := filepath.Join(root, id)
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			f.Fatal(err)
		}
		dirs[id] = dst
		if first == "" {
			first = id
		}
		// The seeds of the corpus in testdata are these files as they were;
		// the current ones are seeds too.
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	idLine := regexp.MustCompile(`(?m)^id:\s*([a-z0-9-]+)`)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := dirs[first]
		if m := idLine.FindSubmatch(data); m != nil && dirs[string(m[1])] != "" {
			dir = dirs[string(m[1])]
		}
		file := filepath.Join(dir, FileName)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Load(dir)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("Load failed with %T %v; want Problems", err, err)
			}
			for _, p := range ps {
				if p.File != file || strings.TrimSpace(p.Message) == "" || p.Line < 0 {
					t.Fatalf("problem %+v does not name %s with a line and a message", p, file)
				}
				if !strings.HasPrefix(p.String(), file+":") {
					t.Fatalf("problem %q does not start with the file", p.String())
				}
			}
			return
		}
		again, err := yaml.Marshal(l)
		if err != nil {
			t.Fatalf("marshal a lab that loaded: %v", err)
		}
		if err := os.WriteFile(file, again, 0o644); err != nil {
			t.Fatal(err)
		}
		l2, err := Load(dir)
		if err != nil {
			t.Fatalf("a lab that loaded does not load again once written back:\n%s\n%v", again, err)
		}
		if !reflect.DeepEqual(l, l2) {
			t.Fatalf("a lab written back loads differently:\n%+v\n%+v", l, l2)
		}
	})
}
