package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/runner/docker"
	"github.com/backlab/backlab/runner/docker/images"
)

// labDirs expands paths into lab folders: a folder with lab.yaml is a lab,
// any other folder is searched one level deep.
func labDirs(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("name at least one lab folder (e.g. labs/add-index) or a folder of labs (labs/)")
	}
	var dirs []string
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(p, "lab.yaml")); err == nil {
			dirs = append(dirs, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("%s: not a lab folder (no lab.yaml) and not a folder of labs: %w", p, err)
		}
		n := 0
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(p, e.Name(), "lab.yaml")); e.IsDir() && err == nil {
				dirs = append(dirs, filepath.Join(p, e.Name()))
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: holds no lab.yaml and no lab folders", p)
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

// loadLabs loads every lab folder named by paths; it reports every broken
// lab before failing.
func loadLabs(paths []string, stderr io.Writer) ([]*lab.Lab, error) {
	dirs, err := labDirs(paths)
	if err != nil {
		return nil, err
	}
	var labs []*lab.Lab
	broken := 0
	for _, d := range dirs {
		l, err := lab.Load(d)
		if err != nil {
			fmt.Fprintln(stderr, err)
			broken++
			continue
		}
		labs = append(labs, l)
	}
	if broken > 0 {
		return nil, fmt.Errorf("%d of %d labs are not valid (see above)", broken, len(dirs))
	}
	return labs, nil
}

func cmdLabValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	labs, err := loadLabs(pos, stderr)
	if err != nil {
		return err
	}
	bad := 0
	for _, l := range labs {
		if !variantsOK(l, stderr) {
			bad++
			continue
		}
		if _, err := images.CompileChecker(context.Background(), l.Path(l.Checker.Build)); err != nil {
			fmt.Fprintf(stderr, "%s: checker.build: the checker does not build:\n%v\n", filepath.Join(l.Dir(), "lab.yaml"), err)
			bad++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", l.Dir())
	}
	if bad > 0 {
		return exitError(1)
	}
	return nil
}

func cmdLabNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "labs", "folder to create the lab in")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: backlab lab new NAME [--dir labs]")
	}
	target := filepath.Join(*dir, pos[0])
	if err := lab.Scaffold(target, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s\nnext: backlab lab validate %s && backlab lab test %s\n", target, target, target)
	if !inBacklabModule(target) {
		fmt.Fprintf(stderr, "warning: %s is outside the backlab repository, so its checker (which imports the checker SDK) will not build there; move it under labs/\n", target)
	}
	return nil
}

// inBacklabModule reports whether dir lies inside the backlab module.
func inBacklabModule(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for d := abs; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			return strings.Contains(string(b), "module github.com/backlab/backlab\n")
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}

// engine opens the Docker engine for images and sandboxes.
type engine struct {
	docker  *client.Client
	driver  *docker.Driver
	builder *images.Builder
}

// openEngine connects to the engine; it changes nothing there (commands
// that start sandboxes call [engine.reapOrphans] first).
func openEngine(ctx context.Context, logger *slog.Logger, progress io.Writer) (*engine, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	d, err := docker.New(ctx, docker.Options{Logger: logger, Instance: labrun.InstanceID()})
	if err != nil {
		cli.Close()
		return nil, err
	}
	b := &images.Builder{Docker: cli, Log: logger, Progress: progress}
	return &engine{docker: cli, driver: d, builder: b}, nil
}

// reapOrphans removes the sandboxes that processes of this host left
// behind when they died, says so on stderr and returns how many it
// removed. A failure is logged, not returned: the command goes on.
func (e *engine) reapOrphans(ctx context.Context, stderr io.Writer, logger *slog.Logger) int {
	reaped, err := e.driver.Reap(ctx, func(info runner.SandboxInfo) bool { return !labrun.Orphan(info) })
	if err != nil {
		logger.Warn("reap orphaned sandboxes", "err", err)
	} else if len(reaped) > 0 {
		fmt.Fprintf(stderr, "removed %d sandboxes left by processes that died\n", len(reaped))
	}
	return len(reaped)
}

func (e *engine) Close() {
	e.driver.Close()
	e.docker.Close()
}

// runner returns a lab runner that builds missing images on demand.
func (e *engine) runner(logger *slog.Logger) *labrun.Runner {
	return &labrun.Runner{
		Driver:   e.driver,
		Instance: labrun.InstanceID(),
		Log:      logger,
		Images: func(ctx context.Context, l *lab.Lab) (runner.ImageSet, error) {
			return e.builder.Lab(ctx, l, true)
		},
	}
}

func cmdImagesBuild(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("images build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ca := fs.String("ca-bundle", "", "PEM bundle to trust inside images (for a TLS-intercepting proxy), or \"none\"; env BACKLAB_CA_BUNDLE, default the host's own CA store")
	mirror := fs.String("mirror", images.DefaultMirror, "Debian mirror for debootstrap when no registry answers")
	quiet := fs.Bool("quiet", false, "do not print the engine's build output")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		pos = []string{"labs"}
	}
	labs, err := loadLabs(pos, stderr)
	if err != nil {
		return err
	}
	var progress io.Writer = stdout
	if *quiet {
		progress = io.Discard
	}
	e, err := openEngine(ctx, logger, progress)
	if err != nil {
		return err
	}
	defer e.Close()
	e.builder.CABundle, e.builder.Mirror = *ca, *mirror
	start := time.Now()
	base, err := e.builder.EnsureBase(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "base %s ready (%s)\n", images.BaseRef, short(base))
	for _, l := range labs {
		set, err := e.builder.Lab(ctx, l, true)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(set.Services))
		for svc, ref := range set.Services {
			names = append(names, svc+"="+ref)
		}
		sort.Strings(names)
		fmt.Fprintf(stdout, "lab %s: %s checker=%s\n", l.ID, strings.Join(names, " "), set.Checker)
	}
	fmt.Fprintf(stdout, "images ready in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func cmdLabTest(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("lab test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	solution := fs.String("solution", "", "test this solution folder (files/ and/or apply.sh) instead of the lab's own phases")
	expect := fs.String("expect", "", "with --solution: pass or fail")
	failing := fs.String("failing", "", "with --expect fail: comma-separated steps that must fail (default: any)")
	parallel := fs.Int("parallel", 1, "phases tested at once, each in its own sandbox (their output is printed as each one ends)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *solution != "" && *expect != "pass" && *expect != "fail" {
		return errors.New("--solution needs --expect pass or --expect fail")
	}
	if *solution == "" && (*expect != "" || *failing != "") {
		return errors.New("--expect and --failing go with --solution DIR")
	}
	if *failing != "" && *expect != "fail" {
		return errors.New("--failing goes with --expect fail")
	}
	if *parallel < 1 || *parallel > 16 {
		return fmt.Errorf("--parallel %d: give a number of phases from 1 to 16", *parallel)
	}
	if *solution != "" {
		if info, err := os.Stat(*solution); err != nil || !info.IsDir() {
			return fmt.Errorf("--solution %s: not a folder", *solution)
		}
	}
	labs, err := loadLabs(pos, stderr)
	if err != nil {
		return err
	}
	if *solution != "" && len(labs) != 1 {
		return errors.New("--solution tests one lab at a time")
	}
	for _, l := range labs {
		if *solution == "" && !variantsOK(l, stderr) {
			return errors.New("variants are not valid (see above); nothing was started")
		}
	}
	e, err := openEngine(ctx, logger, io.Discard)
	if err != nil {
		return err
	}
	defer e.Close()
	e.reapOrphans(ctx, stderr, logger)
	r := e.runner(logger)
	var jobs []phaseJob
	for _, l := range labs {
		phases := labrun.Phases(l)
		if *solution != "" {
			ph := labrun.Phase{Name: "solution " + *solution, Solution: *solution, Expect: labrun.Expectation{Pass: *expect == "pass"}}
			if *failing != "" {
				ph.Expect.Failing = strings.Split(*failing, ",")
			}
			phases = []labrun.Phase{ph}
		}
		for _, ph := range phases {
			jobs = append(jobs, phaseJob{lab: l, phase: ph})
		}
	}
	start := time.Now()
	reports, err := testPhases(ctx, r, jobs, *parallel, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nsummary (%s):\n", time.Since(start).Round(time.Second))
	bad := 0
	for i, rep := range reports {
		mark := "ok  "
		if !rep.Held() {
			mark = "FAIL"
			bad++
		}
		fmt.Fprintf(stdout, "  %s %s (ready %s, check %s)\n", mark, jobs[i].name(), rep.Ready.Round(10*time.Millisecond), rep.Result.Duration.Round(10*time.Millisecond))
	}
	if bad > 0 {
		fmt.Fprintf(stdout, "%d of %d phases did not hold\n", bad, len(reports))
		return exitError(1)
	}
	return nil
}

func cmdReap(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("reap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	e, err := openEngine(ctx, logger, io.Discard)
	if err != nil {
		return err
	}
	defer e.Close()
	e.reapOrphans(ctx, stderr, logger)
	fmt.Fprintln(stdout, "done")
	return nil
}
