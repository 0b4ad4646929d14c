package checker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadFileRegularOnly reads what a learner's workspace may hold in
// place of a file: only a regular file, reached without a symbolic link,
// and no larger than MaxFileSize, is read.
func TestReadFileRegularOnly(t *testing.T) {
	t.Parallel()
	// The folder itself must be reached without a symbolic link (on
	// some systems the temporary folder is behind one).
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain.sql", []byte("CREATE INDEX ON orders (customer_id);\n"))
	atCap := write("at-cap.sql", make([]byte, MaxFileSize))
	overCap := write("over-cap.sql", make([]byte, MaxFileSize+1))
	link := filepath.Join(dir, "link.sql")
	if err := os.Symlink(plain, link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "real")
	os.Mkdir(sub, 0o755)
	write("real/inner.sql", []byte("inner\n"))
	linkedDir := filepath.Join(dir, "linked")
	if err := os.Symlink(sub, linkedDir); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.sql")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A writer keeps the FIFO open, so that a reader that opens it would
	// wait for the end of its data forever.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.WriteString("from a pipe\n")

	for _, tc := range []struct {
		name, path string
		want       string // the content, when it is read
		err        error  // the error, when it is refused
		says       string // what the error says
	}{
		{name: "regular file", path: plain, want: "CREATE INDEX ON orders (customer_id);\n"},
		{name: "relative path", path: mustRel(t, plain), want: "CREATE INDEX ON orders (customer_id);\n"},
		{name: "through ..", path: filepath.Join(sub, "..", "plain.sql"), want: "CREATE INDEX ON orders (customer_id);\n"},
		{name: "at the cap", path: atCap, want: string(make([]byte, MaxFileSize))},
		{name: "over the cap", path: overCap, err: ErrTooLarge, says: "larger than 8 MiB"},
		{name: "symlink", path: link, err: ErrNotRegular, says: "symbolic link"},
		{name: "symlinked folder", path: filepath.Join(linkedDir, "inner.sql"), err: ErrNotRegular, says: "symbolic link"},
		{name: "folder", path: sub, err: ErrNotRegular, says: "a folder"},
		{name: "device", path: "/dev/null", err: ErrNotRegular, says: "a device"},
		{name: "endless device", path: "/dev/zero", err: ErrNotRegular, says: "a device"},
		{name: "fifo", path: fifo, err: ErrNotRegular, says: "a named pipe"},
		{name: "missing", path: filepath.Join(dir, "missing.sql"), err: os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFile(tc.path)
			if tc.err == nil {
				if err != nil || got != tc.want {
					t.Fatalf("ReadFile(%s) = %d bytes, %v; want %d bytes", tc.path, len(got), err, len(tc.want))
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("ReadFile(%s) = %d bytes, %v; want an error that is %v", tc.path, len(got), err, tc.err)
			}
			if got != "" {
				t.Errorf("ReadFile(%s) returned %d bytes with its error", tc.path, len(got))
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("ReadFile(%s) error %q; want it to name the path and say %q", tc.path, err, tc.says)
			}
		})
	}
}

func mustRel(t *testing.T, p string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}
