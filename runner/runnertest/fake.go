package runnertest

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backlab/backlab/runner"
)

// FakeDriver is a [runner.Driver] that keeps its sandboxes in memory, for
// tests that need "a sandbox" but not a container engine. Services run
// their commands in a small shell interpreter (sh and bash syntax, with
// the part of coreutils the project runs, and labtool); files live in
// memory, volumes are shared between the services that mount them, and
// services reach each other's ports by name. Jobs run their command the
// same way, or a script registered for their image with
// [FakeDriver.SetJob] (a checker's event lines).
//
// It keeps the promises of the runner package that need no isolation
// (see [TestDriverBehaviour]); it isolates nothing, so it is for tests
// only. File modes and owners are recorded but not enforced, except that
// read-only mounts refuse writes; the fake never runs a program of the
// host. Its methods are safe for concurrent use.
type FakeDriver struct {
	mu        sync.Mutex
	images    map[string]FakeImage
	jobs      map[string]Command
	commands  map[string]Command
	sandboxes map[string]*fakeSandbox
	seq       int
	hold      chan struct{} // closed by the release of Hold
}

// FakeImage is what a fake container starts from.
type FakeImage struct {
	// User is the default user: a name of Users, "uid" or "uid:gid".
	// Empty means root, which the driver refuses as the real ones do.
	User string
	// WorkDir is the default working directory; empty: "/".
	WorkDir string
	Env     map[string]string
	// Command runs when a service or job gives none; empty: sleep
	// infinity.
	Command []string
	// Files seeds the image: absolute path → content, owned by User. A
	// path ending in "/" is a folder.
	Files map[string]string
	// Users maps user names to uids (the group has the same id); root is
	// always 0.
	Users map[string]int
}

// ConformanceImageRef is the image [NewFakeDriver] knows: the fake
// counterpart of the image [Dockerfile] builds.
const ConformanceImageRef = "fake/runnertest"

// ConformanceImage is the fake counterpart of [Dockerfile]: user learner
// (uid 1000), /data/seed.txt, home folder as working directory.
func ConformanceImage() FakeImage {
	return FakeImage{
		User: "learner", WorkDir: "/home/learner",
		Users: map[string]int{"learner": 1000},
		Files: map[string]string{"/home/learner/": "", "/data/seed.txt": "seeded-by-image\n"},
	}
}

// NewFakeDriver returns a driver that knows [ConformanceImageRef].
func NewFakeDriver() *FakeDriver {
	d := &FakeDriver{images: map[string]FakeImage{}, jobs: map[string]Command{}, commands: map[string]Command{},
		sandboxes: map[string]*fakeSandbox{}}
	d.AddImage(ConformanceImageRef, ConformanceImage())
	return d
}

// AddImage makes ref known to the driver; sandboxes started later use it.
func (d *FakeDriver) AddImage(ref string, img FakeImage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.images[ref] = img
}

// AddCommand adds a program to every container (or replaces one).
func (d *FakeDriver) AddCommand(name string, cmd Command) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.commands[name] = cmd
}

// SetJob makes every job of image run script instead of its command:
// what script writes is the job's output, what it returns its exit code.
// [CheckerScript] writes a checker's event lines.
func (d *FakeDriver) SetJob(image string, script Command) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.jobs[image] = script
}

// Hold makes the sandboxes started from now on wait, before their first
// service starts, until release is called (or their start's context
// ends), so that a test can watch a start's progress from its beginning.
func (d *FakeDriver) Hold() (release func()) {
	ch := make(chan struct{})
	d.mu.Lock()
	d.hold = ch
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			if d.hold == ch {
				d.hold = nil
			}
			d.mu.Unlock()
			close(ch)
		})
	}
}

func (d *FakeDriver) command(name string) (Command, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.commands[name]; ok {
		return c, true
	}
	c, ok := commands[name]
	return c, ok
}

func (d *FakeDriver) image(ref string) (FakeImage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	img, ok := d.images[ref]
	if !ok {
		return FakeImage{}, fmt.Errorf("image %s is not on the engine: it was never pulled or built (fake driver: add it with AddImage)", ref)
	}
	return img, nil
}

// List returns the sandboxes that have not been stopped.
func (d *FakeDriver) List(ctx context.Context) ([]runner.SandboxInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]runner.SandboxInfo, 0, len(d.sandboxes))
	for _, sb := range d.sandboxes {
		out = append(out, sb.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SessionID < out[j].SessionID })
	return out, nil
}

// Reap stops every sandbox keep rejects.
func (d *FakeDriver) Reap(ctx context.Context, keep func(runner.SandboxInfo) bool) ([]runner.SandboxInfo, error) {
	infos, _ := d.List(ctx)
	var reaped []runner.SandboxInfo
	for _, info := range infos {
		if keep(info) {
			continue
		}
		d.mu.Lock()
		sb := d.sandboxes[info.SessionID]
		d.mu.Unlock()
		if sb != nil {
			if err := sb.Stop(ctx); err != nil {
				return reaped, fmt.Errorf("reap %s: %w", info.SessionID, err)
			}
			reaped = append(reaped, info)
		}
	}
	return reaped, nil
}

// Start creates the sandbox and starts its services in order, each ready
// before the next starts.
func (d *FakeDriver) Start(ctx context.Context, spec runner.SandboxSpec, progress func(runner.Event)) (runner.Sandbox, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	hold := d.hold
	d.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, fmt.Errorf("start %s: %w", spec.SessionID, ctx.Err())
		}
	}
	if progress == nil {
		progress = func(runner.Event) {}
	}
	emit := func(t runner.EventType, service string) {
		progress(runner.Event{Type: t, Service: service, Time: time.Now().UTC()})
	}
	imgs := make([]FakeImage, len(spec.Services))
	for i, svc := range spec.Services {
		img, err := d.image(svc.Image)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		user := orDefault(svc.User, img.User)
		uid, _, err := img.resolveUser(user)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		if uid == 0 && !svc.AllowRoot {
			if svc.User == "" {
				return nil, fmt.Errorf("service %s: image %s runs as root: add a non-root USER to it, or set the service's user", svc.Name, svc.Image)
			}
			return nil, fmt.Errorf("service %s: refusing to run as root (user %q) without AllowRoot", svc.Name, user)
		}
		imgs[i] = img
	}

	d.mu.Lock()
	if _, dup := d.sandboxes[spec.SessionID]; dup {
		d.mu.Unlock()
		return nil, fmt.Errorf("sandbox %s already exists", spec.SessionID)
	}
	d.seq++
	sbCtx, cancel := context.WithCancel(context.Background())
	sb := &fakeSandbox{
		d: d, spec: spec, ctx: sbCtx, cancel: cancel,
		info:     runner.SandboxInfo{SessionID: spec.SessionID, LabID: spec.LabID, Instance: spec.Instance},
		net:      newNetwork(fmt.Sprintf("10.%d.%d", 100+d.seq/250%150, d.seq%250)),
		volumes:  map[string]*memFS{},
		services: map[string]*service{},
		jobs:     map[string]*fakeJob{},
	}
	d.sandboxes[spec.SessionID] = sb
	d.mu.Unlock()

	fail := func(err error) (runner.Sandbox, error) {
		stopCtx, c := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer c()
		_ = sb.Stop(stopCtx)
		return sb, err
	}
	// A volume is filled from the image of the first service mounting it.
	for i, svc := range spec.Services {
		for _, m := range svc.Mounts {
			if _, ok := sb.volumes[m.Volume]; !ok {
				sb.volumes[m.Volume] = imgs[i].tree().subtree(path.Clean(m.Path))
			}
		}
	}
	for _, v := range spec.Volumes {
		if _, ok := sb.volumes[v]; !ok {
			sb.volumes[v] = newMemFS()
		}
	}
	for i, spec := range spec.Services {
		emit(runner.EventServiceStarting, spec.Name)
		svc := sb.newService(spec, imgs[i])
		sb.mu.Lock()
		sb.services[spec.Name] = svc
		sb.order = append(sb.order, spec.Name)
		sb.mu.Unlock()
		svc.start()
		if err := svc.waitReady(ctx); err != nil {
			return fail(err)
		}
		emit(runner.EventServiceReady, spec.Name)
	}
	emit(runner.EventSandboxReady, "")
	return sb, nil
}

// orDefault returns the first non-empty string.
func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tree builds the image's file tree.
func (img FakeImage) tree() *memFS {
	t := newMemFS()
	uid, gid, _ := img.resolveUser(img.User)
	for _, dir := range []string{"/tmp", "/etc", "/dev"} {
		_ = t.mkdirAll(dir, 0, 0)
	}
	_ = t.update("/tmp", func(n *node) { n.mode = 0o1777 })
	for p, content := range img.Files {
		if strings.HasSuffix(p, "/") {
			_ = t.mkdirAll(path.Clean(p), uid, gid)
			continue
		}
		_ = t.writeFile(path.Clean(p), []byte(content), 0o644, uid, gid)
	}
	if img.WorkDir != "" {
		_ = t.mkdirAll(img.WorkDir, uid, gid)
	}
	return t
}

// resolveUser turns a user as a spec gives it into ids.
func (img FakeImage) resolveUser(user string) (uid, gid int, err error) {
	if user == "" || user == "root" {
		return 0, 0, nil
	}
	name, group, hasGroup := strings.Cut(user, ":")
	if id, ok := img.Users[name]; ok {
		uid = id
	} else if uid, err = strconv.Atoi(name); err != nil {
		return 0, 0, fmt.Errorf("unable to find user %s: no matching entries in passwd file", name)
	}
	gid = uid
	if hasGroup {
		if gid, err = strconv.Atoi(group); err != nil {
			return 0, 0, fmt.Errorf("unable to find group %s", group)
		}
	}
	return uid, gid, nil
}

// userName returns the name of uid in the image, or the number.
func (img FakeImage) userName(uid int) string {
	if uid == 0 {
		return "root"
	}
	for name, id := range img.Users {
		if id == uid {
			return name
		}
	}
	return strconv.Itoa(uid)
}
