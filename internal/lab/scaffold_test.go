package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // empty: valid
	}{
		{"demo", ""},
		{"add-index", ""},
		{"0-day", ""},
		{"n-plus-1", ""},
		{strings.Repeat("a", 63), ""},
		{"", "empty"},
		{strings.Repeat("a", 64), "at most 63"},
		{"Demo", "lowercase"},
		{"-demo", "starting with a letter or digit"},
		{"my_lab", "dashes"},
		{"my lab", "not valid"},
		{"labs/demo", "not valid"},
		{"../demo", "not valid"},
		{"démo", "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.name)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateName(%q) = %v, want valid", tt.name, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("ValidateName(%q) = nil, want an error about %q", tt.name, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("ValidateName(%q) = %q, want it to say %q", tt.name, err, tt.wantErr)
			}
			// Scaffold refuses the same names before touching the disk.
			if tt.wantErr != "" {
				dir := t.TempDir()
				if err := Scaffold(filepath.Join(dir, "x"), tt.name); err == nil {
					t.Fatalf("Scaffold accepted the name %q", tt.name)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("Scaffold left %d entries behind for the bad name %q", len(entries), tt.name)
				}
			}
		})
	}
}

// TestScaffoldNeverOverwrites: whatever exists at the target stays as it was.
func TestScaffoldNeverOverwrites(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, target string)
	}{
		{"empty folder", func(t *testing.T, target string) {
			mustMkdir(t, target)
		}},
		{"folder with a lab", func(t *testing.T, target string) {
			mustMkdir(t, target)
			mustWrite(t, filepath.Join(target, "lab.yaml"), "id: mine\n")
			mustMkdir(t, filepath.Join(target, "checker"))
			mustWrite(t, filepath.Join(target, "checker", "main.go"), "package main // my work\n")
		}},
		{"a file", func(t *testing.T, target string) {
			mustWrite(t, target, "not a folder\n")
		}},
		{"a symlink to a folder", func(t *testing.T, target string) {
			other := target + "-elsewhere"
			mustMkdir(t, other)
			if err := os.Symlink(other, target); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "demo")
			tt.setup(t, target)
			before := snapshot(t, filepath.Dir(target))
			err := Scaffold(target, "demo")
			if err == nil {
				t.Fatal("Scaffold overwrote an existing target")
			}
			if !strings.Contains(err.Error(), "already exists") {
				t.Errorf("error = %q; want it to say the folder already exists", err)
			}
			if after := snapshot(t, filepath.Dir(target)); after != before {
				t.Errorf("the folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func TestScaffoldFolderMustBeNamedLikeTheLab(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "other")
	err := Scaffold(dir, "demo")
	if err == nil || !strings.Contains(err.Error(), "must be named like the lab") {
		t.Fatalf("Scaffold(%s, demo) = %v; want a folder-name error", dir, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("Scaffold created %s despite the error", dir)
	}
}

// TestScaffoldWritesTemplate checks the files themselves; the lab's
// validity and its checker's build are tested in lab_test, and the whole
// lab runs both ways in cmd/backlab's TestLabNewThenTest.
func TestScaffoldWritesTemplate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "labs", "cache-demo")
	if err := Scaffold(dir, "cache-demo"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"lab.yaml", "instructions.md", "tasks/cap-page-size.md", "workspace/Dockerfile",
		"workspace/app/app.conf", "workspace/app/cgi-bin/items", "workspace/app/cgi-bin/health",
		"checker/main.go", "solution/files/app.conf", "variants/too-strict/patch.diff",
	} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("missing %s: %v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "checker", "main.go.tmpl")); err == nil {
		t.Error("checker/main.go.tmpl kept its .tmpl suffix")
	}
	data, err := os.ReadFile(filepath.Join(dir, "lab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if bytesHas(data, ScaffoldPlaceholder) {
		t.Errorf("lab.yaml still holds the placeholder %s", ScaffoldPlaceholder)
	}
	if !bytesHas(data, "\nid: cache-demo\n") {
		t.Errorf("lab.yaml does not set id: cache-demo")
	}
	if first, _, _ := strings.Cut(string(data), "\n"); first != "# yaml-language-server: $schema=../lab.schema.json" {
		t.Errorf("lab.yaml's first line is %q; want the yaml-language-server schema line", first)
	}
	for _, script := range []string{"workspace/app/cgi-bin/items", "workspace/app/cgi-bin/health"} {
		info, err := os.Stat(filepath.Join(dir, script))
		if err == nil && info.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable (mode %v)", script, info.Mode())
		}
	}
}

func bytesHas(data []byte, s string) bool { return strings.Contains(string(data), s) }

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, file, content string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot lists every path under dir with its content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b.WriteString(rel + " " + info.Mode().String())
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(" " + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
