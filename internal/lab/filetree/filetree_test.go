package filetree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiffApplyRoundTrip(t *testing.T) {
	base := Tree{
		"keep.txt":        {Data: []byte("same\n")},
		"change.go":       {Data: []byte("package x\n\nfunc A() int { return 1 }\n\nfunc B() {}\n")},
		"gone/old.sql":    {Data: []byte("DROP TABLE t;\n")},
		"script.sh":       {Data: []byte("#!/bin/sh\necho hi\n")},
		"no-newline.conf": {Data: []byte("A=1\nB=2")},
	}
	tests := []struct {
		name   string
		target Tree
	}{
		{"unchanged", base.Clone()},
		{"one line changed", with(base, "change.go", File{Data: []byte("package x\n\nfunc A() int { return 2 }\n\nfunc B() {}\n")})},
		{"file added in a new folder", with(base, "new/dir/a.sql", File{Data: []byte("CREATE INDEX i ON t (c);\n")})},
		{"empty file added", with(base, "empty", File{})},
		{"file deleted", without(base, "gone/old.sql")},
		{"made executable", with(base, "keep.txt", File{Data: []byte("same\n"), Exec: true})},
		{"mode and content changed", with(base, "script.sh", File{Data: []byte("#!/bin/sh\necho bye\n")})},
		{"last line without newline changed", with(base, "no-newline.conf", File{Data: []byte("A=1\nB=3\n")})},
		{"everything deleted", Tree{}},
		{"a near copy in a new folder, its source changed too", with(with(base, "v2/change.go", File{Data: []byte("package x\n\nfunc A() int { return 1 }\n\nfunc B() { panic(0) }\n")}),
			"change.go", File{Data: []byte("package x\n")})},
		{"an exact copy made executable", with(base, "bin/script.sh", File{Data: []byte("#!/bin/sh\necho hi\n"), Exec: true})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch, err := Diff(base, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Apply(base, patch)
			if err != nil {
				t.Fatalf("apply: %v\npatch:\n%s", err, patch)
			}
			if !got.Equal(tt.target) {
				t.Errorf("base + patch differs from the target\npatch:\n%s", patch)
			}
			if tt.target.Equal(base) && len(patch) != 0 {
				t.Errorf("equal trees gave a patch:\n%s", patch)
			}
		})
	}
	if _, ok := base["gone/old.sql"]; !ok {
		t.Error("Apply changed its base")
	}
}

func TestDiffShowsOnlyTheChange(t *testing.T) {
	from := Tree{"app.conf": {Data: []byte("DEFAULT=20\nMAX=100\n")}, "other": {Data: []byte("x\n")}}
	to := Tree{"app.conf": {Data: []byte("DEFAULT=20\nMAX=10\n")}, "other": {Data: []byte("x\n")}}
	patch, err := Diff(from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := "diff --git a/app.conf b/app.conf\n--- a/app.conf\n+++ b/app.conf\n@@ -1,2 +1,2 @@\n DEFAULT=20\n-MAX=100\n+MAX=10\n"
	if string(patch) != want {
		t.Errorf("patch:\n%s\nwant:\n%s", patch, want)
	}
}

func TestDiffWritesCopiesAndDeletionsShort(t *testing.T) {
	code := "package p\n\nfunc A() {}\n\nfunc B() {}\n\nfunc C() {}\n"
	from := Tree{"phases/1/p.go": {Data: []byte(code)}, "phases/3/p.go": {Data: []byte(code)}}
	to := Tree{"phases/1/p.go": {Data: []byte(code)}, "phases/2/p.go": {Data: []byte(strings.Replace(code, "B() {}", "B() { panic(0) }", 1))}}
	patch, err := Diff(from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := `diff --git a/phases/1/p.go b/phases/2/p.go
copy from phases/1/p.go
copy to phases/2/p.go
--- a/phases/1/p.go
+++ b/phases/2/p.go
@@ -2,6 +2,6 @@
 
 func A() {}
 
-func B() {}
+func B() { panic(0) }
 
 func C() {}
diff --git a/phases/3/p.go b/phases/3/p.go
deleted file mode 100644
`
	if string(patch) != want {
		t.Errorf("patch:\n%s\nwant:\n%s", patch, want)
	}
}

func TestApplyRefuses(t *testing.T) {
	base := Tree{"a.go": {Data: []byte("one\ntwo\nthree\n")}}
	changed, _ := Diff(base, Tree{"a.go": {Data: []byte("one\n2\nthree\n")}})
	added, _ := Diff(Tree{}, Tree{"b.go": {Data: []byte("b\n")}})
	tests := []struct {
		name  string
		base  Tree
		patch string
		want  string
	}{
		{"a hunk no longer fits", Tree{"a.go": {Data: []byte("one\nTWO\nthree\n")}}, string(changed), "a.go: hunk 1 (@@ -1,3 +1,3 @@) does not apply"},
		{"the changed file is missing", Tree{}, string(changed), "a.go: the patch changes or deletes it, but the base has no such file"},
		{"the added file exists", Tree{"b.go": {Data: []byte("b\n")}}, string(added), "b.go: the patch creates it, but the base already has it"},
		{"a path leaves the folder", base, "diff --git a/../x b/../x\nnew file mode 100644\n--- /dev/null\n+++ b/../x\n@@ -0,0 +1 @@\n+x\n", "must be relative"},
		{"a rename", base, "diff --git a/a.go b/c.go\nsimilarity index 100%\nrename from a.go\nrename to c.go\n", "renames are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(tt.base, []byte(tt.patch))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want it to say %q", err, tt.want)
			}
		})
	}
}

func TestDiffRefusesBinary(t *testing.T) {
	_, err := Diff(Tree{}, Tree{"img.png": {Data: []byte{0x89, 'P', 'N', 'G', 0, 1}}})
	if err == nil || !strings.Contains(err.Error(), "not a text file") {
		t.Errorf("err = %v; want a refusal of the binary file", err)
	}
}

func TestReadWrite(t *testing.T) {
	tree := Tree{"a/b.txt": {Data: []byte("b\n")}, "run": {Data: []byte("#!/bin/sh\n"), Exec: true}}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(tree) {
		t.Errorf("read back %v; want %v (and .git skipped)", got.Paths(), tree.Paths())
	}
}

func TestChanges(t *testing.T) {
	from := Tree{"same": {Data: []byte("s")}, "edit": {Data: []byte("1")}, "drop": {Data: []byte("d")}}
	to := Tree{"same": {Data: []byte("s")}, "edit": {Data: []byte("2")}, "add": {Data: []byte("a")}}
	write, remove := Changes(from, to)
	if got := strings.Join(write.Paths(), ","); got != "add,edit" {
		t.Errorf("write = %s; want add,edit", got)
	}
	if got := strings.Join(remove, ","); got != "drop" {
		t.Errorf("remove = %s; want drop", got)
	}
}

func with(t Tree, p string, f File) Tree {
	c := t.Clone()
	c[p] = f
	return c
}

func without(t Tree, p string) Tree {
	c := t.Clone()
	delete(c, p)
	return c
}
