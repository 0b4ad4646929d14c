package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/runner"
)

// Sandbox is a sandbox running on a Docker engine. Its methods are safe for
// concurrent use.
type Sandbox struct {
	d      *Driver
	spec   runner.SandboxSpec
	bridge string // the Linux bridge of the network
	log    *slog.Logger

	mu        sync.Mutex
	stopped   bool
	networkID string
	services  map[string]*service
}

// service is a started service container.
type service struct {
	spec runner.ServiceSpec
	id   string

	mu sync.Mutex
	ip netip.Addr
}

func (svc *service) addr() netip.Addr {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return svc.ip
}

// ID returns the session id.
func (s *Sandbox) ID() string { return s.spec.SessionID }

// NetworkID returns the engine id of the sandbox's network.
func (s *Sandbox) NetworkID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.networkID
}

// ContainerID returns the engine id of a service's container.
func (s *Sandbox) ContainerID(service string) (string, error) {
	svc, err := s.service(service)
	if err != nil {
		return "", err
	}
	return svc.id, nil
}

func (s *Sandbox) labels(service, role string) map[string]string {
	l := map[string]string{
		runner.LabelManaged:  "true",
		runner.LabelSession:  s.spec.SessionID,
		runner.LabelLab:      s.spec.LabID,
		runner.LabelInstance: s.spec.Instance,
	}
	if service != "" {
		l[runner.LabelService] = service
	}
	if role != "" {
		l[runner.LabelRole] = role
	}
	return l
}

func (s *Sandbox) service(name string) (*service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, runner.ErrStopped
	}
	svc, ok := s.services[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", runner.ErrNoService, name)
	}
	return svc, nil
}

func (s *Sandbox) checkLive() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return runner.ErrStopped
	}
	return nil
}

// start creates the network, the volumes and the services in order.
func (s *Sandbox) start(ctx context.Context, progress func(runner.Event)) error {
	cli := s.d.cli
	// The engine accepts two networks of one name (API < 1.44), so look
	// for an earlier sandbox of this session by label.
	existing, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: managedFilter(s.spec.SessionID, "")})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	if len(existing.Items) > 0 {
		n := existing.Items[0]
		return fmt.Errorf("network %s of this session already exists (instance %q): stop or reap that sandbox first", n.Name, n.Labels[runner.LabelInstance])
	}
	started := time.Now()
	net, err := cli.NetworkCreate(ctx, NetworkName(s.spec.SessionID), client.NetworkCreateOptions{
		Driver:   "bridge",
		Internal: !s.spec.Egress,
		Labels:   s.labels("", ""),
		Options: map[string]string{
			"com.docker.network.bridge.name": s.bridge,
		},
	})
	if err != nil {
		return fmt.Errorf("create network: %w", err)
	}
	s.mu.Lock()
	s.networkID = net.ID
	s.mu.Unlock()
	for _, v := range s.spec.Volumes {
		if _, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{
			Name:   VolumeName(s.spec.SessionID, v),
			Labels: s.labels("", ""),
		}); err != nil {
			return fmt.Errorf("create volume %s: %w", v, err)
		}
	}
	for _, spec := range s.spec.Services {
		progress(runner.Event{Type: runner.EventServiceStarting, Time: time.Now(), Service: spec.Name})
		if err := s.startService(ctx, spec); err != nil {
			return fmt.Errorf("start service %s: %w", spec.Name, err)
		}
		progress(runner.Event{Type: runner.EventServiceReady, Time: time.Now(), Service: spec.Name})
	}
	progress(runner.Event{Type: runner.EventSandboxReady, Time: time.Now()})
	s.log.Info("sandbox ready", "lab", s.spec.LabID, "services", len(s.spec.Services), "took", time.Since(started).Round(time.Millisecond))
	return nil
}

func (s *Sandbox) startService(ctx context.Context, spec runner.ServiceSpec) error {
	user, err := s.d.checkUser(ctx, spec.Image, spec.User, spec.AllowRoot)
	if err != nil {
		return err
	}
	cfg, hc, nc, err := s.containerConfig(containerParams{
		name: spec.Name, role: RoleService, image: spec.Image, cmd: spec.Command, env: spec.Env,
		user: user, workDir: spec.WorkDir, mounts: spec.Mounts, tmpfs: spec.Tmpfs,
		capAdd: spec.CapAdd, limits: spec.Limits,
	})
	if err != nil {
		return err
	}
	name := ContainerName(s.spec.SessionID, spec.Name)
	created, err := s.d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc, NetworkingConfig: nc})
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	svc := &service{spec: spec, id: created.ID}
	s.mu.Lock()
	s.services[spec.Name] = svc
	s.mu.Unlock()
	if _, err := s.d.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start container: %w", err)
	}
	s.log.Debug("service started", "service", spec.Name, "container", created.ID[:12])
	return s.waitReady(ctx, svc)
}

// containerParams is what service and job containers are made from.
type containerParams struct {
	name, role, image string
	cmd               []string
	env               map[string]string
	user, workDir     string
	mounts            []runner.Mount
	tmpfs             map[string]string
	capAdd            []string
	limits            runner.Limits
}

// containerConfig applies the hardening every container gets.
func (s *Sandbox) containerConfig(p containerParams) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	lim := p.limits.WithDefaults()
	if lim.MemoryBytes < 6<<20 {
		return nil, nil, nil, fmt.Errorf("memory limit %d bytes is below the engine's minimum of 6 MiB", lim.MemoryBytes)
	}
	var mounts []mount.Mount
	for _, m := range p.mounts {
		if !strings.HasPrefix(m.Path, "/") {
			return nil, nil, nil, fmt.Errorf("mount of volume %s: path %q must be absolute", m.Volume, m.Path)
		}
		if !s.hasVolume(m.Volume) {
			return nil, nil, nil, fmt.Errorf("mount of undeclared volume %q", m.Volume)
		}
		mounts = append(mounts, mount.Mount{
			Type:     mount.TypeVolume,
			Source:   VolumeName(s.spec.SessionID, m.Volume),
			Target:   m.Path,
			ReadOnly: m.ReadOnly,
		})
	}
	pids := lim.Pids
	init := true
	cfg := &container.Config{
		Image:      p.image,
		Cmd:        p.cmd,
		Env:        envList(p.env),
		User:       p.user,
		WorkingDir: p.workDir,
		Hostname:   p.name,
		Labels:     s.labels(p.name, p.role),
	}
	hc := &container.HostConfig{
		NetworkMode:   container.NetworkMode(s.NetworkID()),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": s.d.opts.LogMaxSize, "max-file": "1"}},
		CapDrop:       []string{"ALL"},
		CapAdd:        p.capAdd,
		SecurityOpt:   []string{"no-new-privileges"},
		Privileged:    false,
		Mounts:        mounts,
		Tmpfs:         p.tmpfs,
		Init:          &init,
		Resources: container.Resources{
			Memory:     lim.MemoryBytes,
			MemorySwap: lim.MemoryBytes,
			NanoCPUs:   lim.NanoCPUs,
			PidsLimit:  &pids,
		},
	}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		s.NetworkID(): {Aliases: []string{p.name}},
	}}
	return cfg, hc, nc, nil
}

func (s *Sandbox) hasVolume(v string) bool {
	for _, name := range s.spec.Volumes {
		if name == v {
			return true
		}
	}
	return false
}

func envList(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// isRootUser reports whether a container user string names root.
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	return name == "" || name == "root" || name == "0"
}

// checkUser returns the user to run image as, or an error when that would be
// root and allowRoot is false.
func (d *Driver) checkUser(ctx context.Context, image, user string, allowRoot bool) (string, error) {
	if user != "" {
		if isRootUser(user) && !allowRoot {
			return "", fmt.Errorf("refusing to run as root (user %q): set a non-root user such as \"1000:1000\", or set AllowRoot if the service truly needs root", user)
		}
		return user, nil
	}
	img, err := d.cli.ImageInspect(ctx, image)
	if err != nil {
		return "", fmt.Errorf("inspect image %s (images are never pulled: build it first): %w", image, err)
	}
	imgUser := ""
	if img.Config != nil {
		imgUser = img.Config.User
	}
	if isRootUser(imgUser) && !allowRoot {
		shown := imgUser
		if shown == "" {
			shown = "unset, so root"
		}
		return "", fmt.Errorf("refusing to run image %s as root (its USER is %s): add a non-root USER to its Dockerfile or set the service's user, or set AllowRoot if the service truly needs root", image, shown)
	}
	return "", nil
}

// inspectService reads a service container's state and address.
func (s *Sandbox) inspectService(ctx context.Context, svc *service) (*container.State, error) {
	res, err := s.d.cli.ContainerInspect(ctx, svc.id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect container: %w", err)
	}
	c := res.Container
	if c.NetworkSettings != nil {
		netID := s.NetworkID()
		for _, ep := range c.NetworkSettings.Networks {
			if ep != nil && ep.NetworkID == netID && ep.IPAddress.IsValid() {
				svc.mu.Lock()
				svc.ip = ep.IPAddress
				svc.mu.Unlock()
			}
		}
	}
	if c.State == nil {
		return nil, errors.New("inspect container: no state")
	}
	return c.State, nil
}

// lastLogs returns up to n last lines a container wrote, stdout and stderr
// merged.
func (d *Driver) lastLogs(ctx context.Context, id string, n int) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := d.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	defer rc.Close()
	var buf strings.Builder
	w := &capWriter{max: 64 << 10, buf: &buf}
	if err := demux(w, w, rc); err != nil && buf.Len() == 0 {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	out := strings.TrimRight(buf.String(), "\n")
	if out == "" {
		return "(no output)"
	}
	return out
}

// Stop removes every container (jobs too), volume and network of the
// sandbox. It is idempotent.
func (s *Sandbox) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.d.forget(s.spec.SessionID, s)
	if err := s.d.removeSession(ctx, s.spec.SessionID, s.spec.Instance); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", s.spec.SessionID, err)
	}
	s.log.Info("sandbox stopped")
	return nil
}

// Restart restarts a service and waits for its readiness probe.
func (s *Sandbox) Restart(ctx context.Context, name string) error {
	svc, err := s.service(name)
	if err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	timeout := int(s.d.opts.StopTimeout / time.Second)
	if _, err := s.d.cli.ContainerRestart(ctx, svc.id, client.ContainerRestartOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	if err := s.waitReady(ctx, svc); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	return nil
}

// CopyTo extracts a tar stream into dir inside a service. dir must exist.
func (s *Sandbox) CopyTo(ctx context.Context, name, dir string, tar io.Reader) error {
	svc, err := s.service(name)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", name, err)
	}
	if _, err := s.d.cli.CopyToContainer(ctx, svc.id, client.CopyToContainerOptions{DestinationPath: dir, Content: tar}); err != nil {
		return fmt.Errorf("copy to %s:%s: %w", name, dir, err)
	}
	return nil
}
