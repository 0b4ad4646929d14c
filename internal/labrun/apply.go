package labrun

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/backlab/backlab/runner"
)

// Apply copies a solution folder onto the workspace: files/ is overlaid on
// the workspace's working directory, then apply.sh (if any) runs there as
// the workspace user. The script's output goes to out.
func (run *Run) Apply(ctx context.Context, dir string, out io.Writer) error {
	ws := run.Lab.Workspace
	filesDir := filepath.Join(dir, "files")
	if info, err := os.Stat(filesDir); err == nil && info.IsDir() {
		uid, gid, err := run.workspaceIDs(ctx)
		if err != nil {
			return err
		}
		tarball, err := tarDir(filesDir, uid, gid)
		if err != nil {
			return fmt.Errorf("apply solution %s: %w", dir, err)
		}
		if err := run.Sandbox.CopyTo(ctx, ws.Service, ws.WorkDir, tarball); err != nil {
			return fmt.Errorf("apply solution %s: copy files: %w", dir, err)
		}
	}
	return run.runScript(ctx, dir, out)
}

// runScript runs dir's apply.sh, if there is one, in the workspace.
func (run *Run) runScript(ctx context.Context, dir string, out io.Writer) error {
	ws := run.Lab.Workspace
	script, err := os.ReadFile(filepath.Join(dir, "apply.sh"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply solution %s: %w", dir, err)
	}
	res, err := run.Sandbox.Exec(ctx, ws.Service, runner.ExecOptions{
		Cmd: []string{"bash", "-euo", "pipefail", "-s"}, User: ws.User, WorkDir: ws.WorkDir,
		Stdin: bytes.NewReader(script),
	})
	if err != nil {
		return fmt.Errorf("apply solution %s: run apply.sh: %w", dir, err)
	}
	if out != nil {
		out.Write(res.Stdout)
		out.Write(res.Stderr)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("apply solution %s: apply.sh exited %d: %s", dir, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// workspaceIDs returns the numeric uid and gid of the workspace user.
func (run *Run) workspaceIDs(ctx context.Context) (int, int, error) {
	ws := run.Lab.Workspace
	res, err := run.Sandbox.Exec(ctx, ws.Service, runner.ExecOptions{Cmd: []string{"sh", "-c", "id -u; id -g"}, User: ws.User})
	if err != nil {
		return 0, 0, fmt.Errorf("find workspace user: %w", err)
	}
	f := strings.Fields(string(res.Stdout))
	if res.ExitCode != 0 || len(f) != 2 {
		return 0, 0, fmt.Errorf("find workspace user: id said %q", strings.TrimSpace(string(res.Stdout)+string(res.Stderr)))
	}
	uid, err1 := strconv.Atoi(f[0])
	gid, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("find workspace user: id said %q", strings.Join(f, " "))
	}
	return uid, gid, nil
}

// tarDir packs dir's contents, owned by uid:gid.
func tarDir(dir string, uid, gid int) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.IsDir() && !info.Mode().IsRegular() {
			return fmt.Errorf("%s: only files and folders can be part of a solution", path)
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = uid, gid, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
