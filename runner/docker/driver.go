package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/runner"
)

// Interface guards.
var (
	_ runner.Driver   = (*Driver)(nil)
	_ runner.Sandbox  = (*Sandbox)(nil)
	_ runner.Terminal = (*terminal)(nil)
	_ runner.Job      = (*job)(nil)
)

// Defaults of [Options].
const (
	DefaultPingTimeout   = 5 * time.Second
	DefaultProbeInterval = 100 * time.Millisecond
	DefaultStopTimeout   = 5 * time.Second
)

// Options configure a [Driver].
type Options struct {
	// Logger receives what the driver does (debug level for each engine
	// step, info for sandboxes started and stopped); nil discards.
	Logger *slog.Logger
	// Instance names the server instance that owns the sandboxes. It is the
	// value of [runner.LabelInstance] on every resource of a spec that
	// leaves SandboxSpec.Instance empty.
	Instance string
	// Client is the engine client to use; the driver does not close it.
	// Nil: the driver opens one from the environment (DOCKER_HOST and
	// friends, or Host) and closes it in [Driver.Close].
	Client *client.Client
	// Host overrides DOCKER_HOST when the driver opens its own client, e.g.
	// "unix:///var/run/docker.sock". Empty: the environment's.
	Host string
	// PingTimeout bounds the engine check in [New]; zero: DefaultPingTimeout.
	PingTimeout time.Duration
	// ProbeInterval is the pause between readiness attempts; zero:
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// StopTimeout is how long a service may take to stop on Restart before
	// it is killed; zero: DefaultStopTimeout.
	StopTimeout time.Duration
	// LogMaxSize caps each container's json-file log ("10m" when empty).
	LogMaxSize string
}

// Driver runs sandboxes on a Docker engine. It is safe for concurrent use.
type Driver struct {
	cli     *client.Client
	ownCli  bool
	log     *slog.Logger
	opts    Options
	mu      sync.Mutex
	running map[string]*Sandbox // session id → live sandbox started here
}

// New connects to the Docker engine and checks that it answers.
func New(ctx context.Context, opts Options) (*Driver, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = DefaultPingTimeout
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = DefaultProbeInterval
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if opts.LogMaxSize == "" {
		opts.LogMaxSize = "10m"
	}
	d := &Driver{cli: opts.Client, log: opts.Logger, opts: opts, running: map[string]*Sandbox{}}
	if d.cli == nil {
		clientOpts := []client.Opt{client.FromEnv}
		if opts.Host != "" {
			clientOpts = append(clientOpts, client.WithHost(opts.Host))
		}
		cli, err := client.New(clientOpts...)
		if err != nil {
			return nil, fmt.Errorf("docker client: %w", err)
		}
		d.cli, d.ownCli = cli, true
	}
	pctx, cancel := context.WithTimeout(ctx, opts.PingTimeout)
	defer cancel()
	if _, err := d.cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		d.Close()
		return nil, fmt.Errorf("no Docker engine answers at %s: run scripts/engine.sh: %w", d.cli.DaemonHost(), err)
	}
	d.log.Debug("docker engine answers", "host", d.cli.DaemonHost(), "api", d.cli.ClientVersion())
	return d, nil
}

// Close releases the engine client if the driver opened it. Sandboxes keep
// running; stop them first or reap them later.
func (d *Driver) Close() error {
	if d.ownCli && d.cli != nil {
		return d.cli.Close()
	}
	return nil
}

// Client returns the engine client the driver uses.
func (d *Driver) Client() *client.Client { return d.cli }

// NetworkName is the name of the network of session.
func NetworkName(session string) string { return "backlab-" + session }

// BridgeName is the Linux bridge of session's network: "blk-" and 11 hex
// digits, within the 15 bytes an interface name may have.
func BridgeName(session string) string {
	sum := sha256.Sum256([]byte(NetworkName(session)))
	return "blk-" + hex.EncodeToString(sum[:])[:11]
}

// VolumeName is the engine name of a session volume.
func VolumeName(session, volume string) string { return "backlab-" + session + "-" + volume }

// ContainerName is the engine name of a service container.
func ContainerName(session, service string) string { return "backlab-" + session + "-" + service }

// JobContainerName is the engine name of a job container.
func JobContainerName(session, job string) string { return "backlab-" + session + "-job-" + job }

// Label values of [runner.LabelRole].
const (
	RoleService = "service"
	RoleJob     = "job"
)

// Start creates the sandbox spec describes; see [runner.Driver.Start].
func (d *Driver) Start(ctx context.Context, spec runner.SandboxSpec, progress func(runner.Event)) (runner.Sandbox, error) {
	s, err := d.start(ctx, spec, progress, "")
	if s == nil {
		return nil, err // no typed nil in the interface
	}
	return s, err
}

// start is Start with the name of the network's bridge; empty: the usual
// [BridgeName].
func (d *Driver) start(ctx context.Context, spec runner.SandboxSpec, progress func(runner.Event), bridge string) (*Sandbox, error) {
	if spec.Instance == "" {
		spec.Instance = d.opts.Instance
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	if progress == nil {
		progress = func(runner.Event) {}
	}
	if bridge == "" {
		bridge = BridgeName(spec.SessionID)
	}
	s := &Sandbox{d: d, spec: spec, bridge: bridge, services: map[string]*service{}, log: d.log.With("session", spec.SessionID)}
	d.mu.Lock()
	if _, dup := d.running[spec.SessionID]; dup {
		d.mu.Unlock()
		return nil, fmt.Errorf("start sandbox %s: already running", spec.SessionID)
	}
	d.running[spec.SessionID] = s
	d.mu.Unlock()

	if err := s.start(ctx, progress); err != nil {
		// Remove what was created, even when ctx has ended.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if serr := s.Stop(cctx); serr != nil {
			s.log.Warn("clean up after failed start", "err", serr)
		}
		return s, fmt.Errorf("start sandbox %s: %w", spec.SessionID, err)
	}
	return s, nil
}

func (d *Driver) forget(session string, s *Sandbox) {
	d.mu.Lock()
	if d.running[session] == s {
		delete(d.running, session)
	}
	d.mu.Unlock()
}

// managedFilter selects what backlab created, optionally of one session and
// instance.
func managedFilter(session, instance string) client.Filters {
	f := client.Filters{}.Add("label", runner.LabelManaged+"=true")
	if session != "" {
		f = f.Add("label", runner.LabelSession+"="+session)
	}
	if instance != "" {
		f = f.Add("label", runner.LabelInstance+"="+instance)
	}
	return f
}

// List returns every session that has a labelled container, network or
// volume on the engine, whichever instance owns it, sorted by instance and
// session id.
func (d *Driver) List(ctx context.Context) ([]runner.SandboxInfo, error) {
	set := map[runner.SandboxInfo]bool{}
	add := func(labels map[string]string) {
		if labels[runner.LabelSession] == "" {
			return
		}
		set[runner.SandboxInfo{
			SessionID: labels[runner.LabelSession],
			LabID:     labels[runner.LabelLab],
			Instance:  labels[runner.LabelInstance],
		}] = true
	}
	f := managedFilter("", "")
	cs, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		add(c.Labels)
	}
	ns, err := d.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		add(n.Labels)
	}
	vs, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vs.Items {
		add(v.Labels)
	}
	out := make([]runner.SandboxInfo, 0, len(set))
	for info := range set {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Instance != out[j].Instance {
			return out[i].Instance < out[j].Instance
		}
		return out[i].SessionID < out[j].SessionID
	})
	return out, nil
}

// Reap removes the containers, volumes and networks of every session that
// keep rejects (also volumes and networks left without containers), and
// returns those sessions. It goes on after an error and returns them all.
func (d *Driver) Reap(ctx context.Context, keep func(runner.SandboxInfo) bool) ([]runner.SandboxInfo, error) {
	infos, err := d.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("reap: %w", err)
	}
	var reaped []runner.SandboxInfo
	var errs []error
	for _, info := range infos {
		if keep != nil && keep(info) {
			continue
		}
		if err := d.removeSession(ctx, info.SessionID, info.Instance); err != nil {
			errs = append(errs, fmt.Errorf("reap %s: %w", info.SessionID, err))
			continue
		}
		d.log.Info("reaped sandbox", "session", info.SessionID, "lab", info.LabID, "instance", info.Instance)
		reaped = append(reaped, info)
	}
	return reaped, errors.Join(errs...)
}

// removeSession force-removes every container of a session (jobs too), then
// its volumes, then its network. Missing resources are no error.
func (d *Driver) removeSession(ctx context.Context, session, instance string) error {
	f := managedFilter(session, instance)
	var errs []error
	cs, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range cs.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	vs, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list volumes: %w", err))
	} else {
		for _, v := range vs.Items {
			if _, err := d.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			}
		}
	}
	ns, err := d.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks: %w", err))
	} else {
		for _, n := range ns.Items {
			if _, err := d.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func isRemovalInProgress(err error) bool {
	return err != nil && cerrdefs.IsConflict(err) && containsAny(err.Error(), "already in progress")
}
