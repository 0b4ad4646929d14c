package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/backlab/backlab/runner"
)

// Limits of the editor's file access.
const (
	MaxFileSize   = 1 << 20 // bytes the editor opens or saves
	MaxFileListed = 5000    // entries a file tree lists
)

// ErrBadPath reports a path the editor may not use.
var ErrBadPath = errors.New("session: bad path")

// FileEntry is one file or folder of the workspace.
type FileEntry struct {
	Path string `json:"path"` // relative to the workspace folder, slash separated
	Type string `json:"type"` // file or dir
	Size int64  `json:"size"`
}

// CleanPath checks a path from the editor: relative to the workspace
// folder, inside it, no NUL. It returns the cleaned path.
func CleanPath(p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) || len(p) > 1024 {
		return "", fmt.Errorf("%w: give a file path relative to the workspace folder", ErrBadPath)
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: %q is absolute; give it relative to the workspace folder", ErrBadPath, p)
	}
	c := path.Clean(p)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: %q is outside the workspace folder", ErrBadPath, p)
	}
	return c, nil
}

// exec runs a command in the workspace as the learner, in the workspace
// folder.
func (s *Session) exec(ctx context.Context, stdin []byte, cmd ...string) (runner.ExecResult, error) {
	ls, err := s.Sandbox()
	if err != nil {
		return runner.ExecResult{}, err
	}
	ws := s.Lab.Workspace
	opts := runner.ExecOptions{Cmd: cmd, User: ws.User, WorkDir: ws.WorkDir}
	if stdin != nil {
		opts.Stdin = bytes.NewReader(stdin)
	}
	return ls.Sandbox.Exec(ctx, ws.Service, opts)
}

// WorkDir is the workspace folder file paths are relative to.
func (s *Session) WorkDir() string { return s.Lab.Workspace.WorkDir }

// Files lists the workspace folder (without .git and node_modules).
func (s *Session) Files(ctx context.Context) ([]FileEntry, error) {
	res, err := s.exec(ctx, nil, "find", ".", "-mindepth", "1",
		"(", "-name", ".git", "-o", "-name", "node_modules", "-o", "-name", ".cache", ")", "-prune", "-o",
		"(", "-type", "f", "-o", "-type", "d", ")", "-printf", `%y %s %P\0`)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	if res.ExitCode != 0 && len(res.Stdout) == 0 {
		return nil, fmt.Errorf("list files: %s", strings.TrimSpace(string(res.Stderr)))
	}
	var out []FileEntry
	for _, rec := range bytes.Split(res.Stdout, []byte{0}) {
		f := strings.SplitN(string(rec), " ", 3)
		if len(f) != 3 || f[2] == "" {
			continue
		}
		size, _ := strconv.ParseInt(f[1], 10, 64)
		e := FileEntry{Path: f[2], Type: "file", Size: size}
		if f[0] == "d" {
			e.Type, e.Size = "dir", 0
		}
		out = append(out, e)
		if len(out) >= MaxFileListed {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ReadFile returns a text file of the workspace.
func (s *Session) ReadFile(ctx context.Context, p string) ([]byte, error) {
	p, err := CleanPath(p)
	if err != nil {
		return nil, err
	}
	// head -c reads one byte past the limit so that a larger file shows.
	res, err := s.exec(ctx, nil, "sh", "-c", `test -f "$1" || { echo "not a file" >&2; exit 3; }; head -c "$2" -- "$1"`, "sh", p, strconv.Itoa(MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("%w: %s: %s", ErrBadPath, p, firstLine(res.Stderr))
	}
	if len(res.Stdout) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d KiB; open it in the terminal", ErrBadPath, p, MaxFileSize>>10)
	}
	if bytes.IndexByte(res.Stdout, 0) >= 0 {
		return nil, fmt.Errorf("%w: %s is not a text file", ErrBadPath, p)
	}
	return res.Stdout, nil
}

// WriteFile saves a text file of the workspace as the learner (creating
// its folder), replacing it in one step so that a reader never sees half a
// file.
func (s *Session) WriteFile(ctx context.Context, p string, content []byte) error {
	p, err := CleanPath(p)
	if err != nil {
		return err
	}
	if len(content) > MaxFileSize {
		return fmt.Errorf("%w: %s: at most %d KiB can be saved from the editor", ErrBadPath, p, MaxFileSize>>10)
	}
	script := `set -e; d=$(dirname -- "$1"); mkdir -p -- "$d"; if [ -d "$1" ]; then echo "is a folder" >&2; exit 3; fi
t=$(mktemp -- "$d/.backlab-save.XXXXXX"); cat > "$t"
if [ -f "$1" ]; then chmod --reference="$1" "$t" 2>/dev/null || true; else chmod 644 "$t"; fi
mv -f -- "$t" "$1"`
	res, err := s.exec(ctx, content, "sh", "-c", script, "sh", p)
	if err != nil {
		return fmt.Errorf("save %s: %w", p, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%w: save %s: %s", ErrBadPath, p, firstLine(res.Stderr))
	}
	s.Touch()
	return nil
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
