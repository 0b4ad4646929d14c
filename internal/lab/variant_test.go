package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLabsVariantsApply proves that every variant of every lab in labs/,
// and of the scaffold, is in the format and its patch applies to its base.
func TestLabsVariantsApply(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(root, "labs", "*", FileName))
	if err != nil {
		t.Fatal(err)
	}
	scaffold := filepath.Join(t.TempDir(), "demo")
	if err := Scaffold(scaffold, "demo"); err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, filepath.Join(scaffold, FileName))
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			l, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Variants) == 0 {
				t.Fatal("the lab has no variants")
			}
			if ps := l.CheckVariants(); len(ps) > 0 {
				t.Error(ps)
			}
		})
	}
}

// scaffoldLab writes the scaffold to a temporary folder, lets change edit
// it, and loads it.
func scaffoldLab(t *testing.T, change func(dir string)) (*Lab, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	if err := Scaffold(dir, "demo"); err != nil {
		t.Fatal(err)
	}
	change(dir)
	return Load(dir)
}

func edit(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not hold %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckVariantsReports(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
	}{
		{"the solution changed under the patch", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, "solution/files/app.conf"), "MAX_LIMIT=100", "MAX_LIMIT=50")
		}, "variants/too-strict/patch.diff no longer applies to the solution: app.conf: hunk 1 (@@ -2,4 +2,4 @@) does not apply"},
		{"the file the patch changes is gone", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "workspace/app/app.conf")); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, "solution/files/app.conf")); err != nil {
				t.Fatal(err)
			}
		}, "app.conf: the patch changes or deletes it, but the base has no such file"},
		{"the old format", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "variants/too-strict/files"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "holds files/, the old format of variants"},
		{"an empty variant", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "variants/too-strict", PatchFile)); err != nil {
				t.Fatal(err)
			}
		}, "variants/too-strict holds neither patch.diff (a patch against its base) nor apply.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := scaffoldLab(t, func(dir string) { tt.change(t, dir) })
			if err != nil {
				t.Fatal(err)
			}
			ps := l.CheckVariants()
			if len(ps) != 1 || !strings.Contains(ps[0].String(), tt.want) {
				t.Errorf("problems: %v; want one saying %q", ps, tt.want)
			}
			if len(ps) == 1 && (ps[0].Field != "variants[0].dir" || !strings.HasSuffix(ps[0].File, FileName)) {
				t.Errorf("problem at %s %s; want lab.yaml variants[0].dir", ps[0].File, ps[0].Field)
			}
		})
	}
}

func TestLoadChecksVariantDeclarations(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"no base", "    base: solution\n", "", "variants[0].base: is required: starter or solution"},
		{"an unknown base", "    base: solution", "    base: reference", `variants[0].base: "reference" must be starter or solution`},
		{"no starter", "starter: workspace/app\n", "", "starter: is required with variants"},
		{"a starter that is not there", "starter: workspace/app", "starter: workspace/src", "starter: workspace/src does not exist"},
		{"a variant folder that is not there", "dir: variants/too-strict", "dir: variants/too-lax", "variants[0].dir: variants/too-lax does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scaffoldLab(t, func(dir string) { edit(t, filepath.Join(dir, FileName), tt.old, tt.new) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want it to say %q", err, tt.want)
			}
		})
	}
}

// TestSolutionWithScriptIsNoBase: what a solution's apply.sh does is known
// only in the sandbox, so a patch cannot be based on it.
func TestSolutionWithScriptIsNoBase(t *testing.T) {
	_, err := scaffoldLab(t, func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "solution", ScriptFile), []byte("true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if want := "variants[0].base: the reference solution runs an apply.sh"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v; want it to say %q", err, want)
	}
}
