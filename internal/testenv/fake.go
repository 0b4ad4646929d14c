package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/runner/runnertest"
)

// FakeLabs runs the sandboxes of labs on a [runnertest.FakeDriver], for
// tests that need "a sandbox" but no engine. Each service built from a
// folder gets a fake image made from its Dockerfile: the files its COPY
// lines copy from the folder, its last USER and WORKDIR (user learner has
// uid 1000). The checker reports the lab's steps as a checker reports
// them on the starter: every step passes except those failing_at_start;
// [FakeLabs.SetChecker] scripts another run.
type FakeLabs struct {
	Driver *runnertest.FakeDriver
	sets   map[string]runner.ImageSet
}

// NewFakeLabs returns a fake driver that knows the images of labs.
func NewFakeLabs(t testing.TB, labs ...*lab.Lab) *FakeLabs {
	t.Helper()
	f := &FakeLabs{Driver: runnertest.NewFakeDriver(), sets: map[string]runner.ImageSet{}}
	for _, l := range labs {
		set := runner.ImageSet{Services: map[string]string{}, Checker: "fake/" + l.ID + "-checker"}
		for _, svc := range l.Services {
			ref := svc.Image
			img := runnertest.FakeImage{User: "learner", Users: map[string]int{"learner": 1000}}
			if svc.Build != "" {
				ref = "fake/" + l.ID + "-" + svc.Name
				var err error
				if img, err = fakeImageFromBuild(l.Path(svc.Build)); err != nil {
					t.Fatalf("fake image of %s/%s: %v", l.ID, svc.Name, err)
				}
			}
			set.Services[svc.Name] = ref
			f.Driver.AddImage(ref, img)
		}
		f.Driver.AddImage(set.Checker, runnertest.FakeImage{User: "checker", Users: map[string]int{"checker": 1000}})
		f.sets[l.ID] = set
		var steps []runnertest.Step
		for _, st := range l.Checker.Steps {
			failing := false
			for _, id := range l.FailingAtStart {
				failing = failing || id == st.ID
			}
			steps = append(steps, runnertest.Step{ID: st.ID, Failed: failing, Message: "the fake checker's verdict on the starter"})
		}
		f.SetChecker(l, steps...)
	}
	return f
}

// SetChecker makes every check of l report steps (see
// [runnertest.CheckerScript]).
func (f *FakeLabs) SetChecker(l *lab.Lab, steps ...runnertest.Step) {
	f.Driver.SetJob(f.sets[l.ID].Checker, runnertest.CheckerScript(steps...))
}

// Images resolves a lab's images for the fake driver, as a builder
// resolves them for an engine; progress gets one line.
func (f *FakeLabs) Images(ctx context.Context, l *lab.Lab, progress io.Writer) (runner.ImageSet, error) {
	set, ok := f.sets[l.ID]
	if !ok {
		return runner.ImageSet{}, fmt.Errorf("fake images of lab %s: %w", l.ID, runner.ErrImageMissing)
	}
	if progress != nil {
		fmt.Fprintf(progress, "fake images of %s are ready\n", l.ID)
	}
	return set, nil
}

// fakeImageFromBuild reads dir/Dockerfile's COPY, USER and WORKDIR lines
// (enough for the labs' workspace images) into a fake image.
func fakeImageFromBuild(dir string) (runnertest.FakeImage, error) {
	img := runnertest.FakeImage{Users: map[string]int{"learner": 1000}, Files: map[string]string{}}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		return img, err
	}
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(string(df), "\\\n", " ")))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "USER":
			img.User = f[1]
		case "WORKDIR":
			img.WorkDir = f[1]
			img.Files[strings.TrimSuffix(f[1], "/")+"/"] = ""
		case "COPY":
			var args []string
			for _, a := range f[1:] {
				if !strings.HasPrefix(a, "--") {
					args = append(args, a)
				}
			}
			if len(args) < 2 {
				continue
			}
			dest := args[len(args)-1]
			for _, src := range args[:len(args)-1] {
				if err := copyIntoImage(img.Files, filepath.Join(dir, src), dest); err != nil {
					return img, fmt.Errorf("COPY %s %s: %w", src, dest, err)
				}
			}
		}
	}
	return img, nil
}

// copyIntoImage adds a file, or a folder's contents, at dest (a folder
// when it ends in "/" or src is a folder).
func copyIntoImage(files map[string]string, src, dest string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		b, err := os.ReadFile(src)
		if strings.HasSuffix(dest, "/") {
			dest = path.Join(dest, filepath.Base(src))
		}
		files[dest] = string(b)
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := path.Join(dest, filepath.ToSlash(rel))
		if d.IsDir() {
			files[target+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		files[target] = string(b)
		return err
	})
}

// Flood is a command for the fake sandbox (add it with
// Driver.AddCommand): `flood N` writes N bytes of output in 32 KiB writes,
// then the line flood-done.
func Flood(ctx context.Context, p *runnertest.Proc) int {
	n, err := strconv.Atoi(p.Args[1])
	if err != nil {
		return p.Errorf(2, "flood: %v", err)
	}
	chunk := bytes.Repeat([]byte("y"), 32<<10)
	for n > 0 && ctx.Err() == nil {
		w := min(n, len(chunk))
		p.Stdout.Write(chunk[:w])
		n -= w
	}
	p.Stdout.Write([]byte("\nflood-done\n"))
	return 0
}
