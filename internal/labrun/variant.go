package labrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/lab/filetree"
	"github.com/backlab/backlab/runner"
)

// removeFiles deletes the files named as arguments (paths relative to the
// working directory) and then each of their folders that is left empty.
const removeFiles = `set -e
for f; do
  rm -f -- "$f"
  d=$(dirname -- "$f")
  if [ "$d" != . ]; then rmdir -p -- "$d" 2>/dev/null || true; fi
done`

// ApplyVariant makes the workspace hold exactly the files of the variant
// v (its base with its patch applied, see [lab.Lab.VariantTree]): files of
// the starter that v lacks are removed, files v adds or changes are
// written, owned by the workspace user. Then v's apply.sh, if any, runs as
// for a solution. Files the workspace holds that the starter does not
// (made by the image's build) are left alone.
func (run *Run) ApplyVariant(ctx context.Context, v lab.Variant, out io.Writer) error {
	l := run.Lab
	starter, err := l.StarterTree()
	if err != nil {
		return fmt.Errorf("apply variant %s: %w", v.Dir, err)
	}
	target, err := l.VariantTree(v)
	if err != nil {
		return fmt.Errorf("apply variant %s: %w", v.Dir, err)
	}
	write, remove := filetree.Changes(starter, target)
	ws := l.Workspace
	if len(remove) > 0 {
		res, err := run.Sandbox.Exec(ctx, ws.Service, runner.ExecOptions{
			Cmd:  append([]string{"sh", "-c", removeFiles, "sh"}, remove...),
			User: ws.User, WorkDir: ws.WorkDir,
		})
		if err != nil {
			return fmt.Errorf("apply variant %s: remove files: %w", v.Dir, err)
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("apply variant %s: remove files: exit %d: %s", v.Dir, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
		}
	}
	if len(write) > 0 {
		if err := run.copyTree(ctx, write); err != nil {
			return fmt.Errorf("apply variant %s: %w", v.Dir, err)
		}
	}
	return run.runScript(ctx, l.Path(v.Dir), out)
}

// copyTree writes t's files into the workspace's workdir.
func (run *Run) copyTree(ctx context.Context, t filetree.Tree) error {
	uid, gid, err := run.workspaceIDs(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "backlab-variant-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := t.Write(tmp); err != nil {
		return err
	}
	tarball, err := tarDir(tmp, uid, gid)
	if err != nil {
		return err
	}
	ws := run.Lab.Workspace
	if err := run.Sandbox.CopyTo(ctx, ws.Service, ws.WorkDir, tarball); err != nil {
		return fmt.Errorf("copy files: %w", err)
	}
	return nil
}
