// Package deploy holds what docker-compose.yml builds besides backlab's
// own image (the top-level Dockerfile); its tests check the compose file,
// the store image and the image of backlab.
package deploy

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
	"go.yaml.in/yaml/v3"

	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
)

type composeFile struct {
	Services map[string]struct {
		Build       composeBuild      `yaml:"build"`
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		CapDrop     []string          `yaml:"cap_drop"`
		SecurityOpt []string          `yaml:"security_opt"`
		NetworkMode string            `yaml:"network_mode"`
		Pid         string            `yaml:"pid"`
		GroupAdd    []string          `yaml:"group_add"`
		ReadOnly    bool              `yaml:"read_only"`
		Tmpfs       []string          `yaml:"tmpfs"`
		Privileged  bool              `yaml:"privileged"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// composeBuild is a service's build: a context folder, or a mapping with
// the context and build arguments.
type composeBuild struct {
	Context string            `yaml:"context"`
	Args    map[string]string `yaml:"args"`
}

func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&b.Context)
	}
	type plain composeBuild
	return n.Decode((*plain)(b))
}

// hostPath reports whether a volume entry's source is a path of the host
// (possibly given by a variable) rather than a named volume, and returns
// the source.
func hostPath(v string) (string, bool) {
	if strings.HasPrefix(v, "${") {
		end := strings.Index(v, "}")
		return v[:end+1], true
	}
	src, _, _ := strings.Cut(v, ":")
	return src, strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/")
}

// defaultOf returns the default of "${VAR:-default}", or s itself.
func defaultOf(s string) string {
	if rest, ok := strings.CutPrefix(s, "${"); ok {
		if _, def, ok := strings.Cut(strings.TrimSuffix(rest, "}"), ":-"); ok {
			return def
		}
	}
	return s
}

// TestComposeFile validates docker-compose.yml: every build context has a
// Dockerfile, published ports stay on loopback, secrets and the socket's
// group must be given, containers are hardened, named volumes are
// declared; and the backlab service is set up as docs/admin.md explains.
func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml declares no service")
	}
	for name, s := range c.Services {
		if s.Build.Context != "" {
			if _, err := os.Stat(filepath.Join("..", s.Build.Context, "Dockerfile")); err != nil {
				t.Errorf("service %s: build %s has no Dockerfile", name, s.Build.Context)
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q beyond loopback", name, p)
			}
		}
		for k, v := range s.Environment {
			if strings.Contains(k, "PASSWORD") && !strings.Contains(v, ":?") {
				t.Errorf("service %s: %s must be required from the environment (${VAR:?…}), not defaulted", name, k)
			}
		}
		if len(s.CapDrop) != 1 || s.CapDrop[0] != "ALL" || len(s.SecurityOpt) == 0 || s.Privileged {
			t.Errorf("service %s: drop all capabilities and set no-new-privileges", name)
		}
		if s.NetworkMode == "host" && len(s.Ports) > 0 {
			t.Errorf("service %s: ports mean nothing with network_mode host; the listen address decides", name)
		}
		for _, g := range s.GroupAdd {
			if strings.HasPrefix(g, "${") && !strings.Contains(g, ":?") {
				t.Errorf("service %s: group_add %s must be required from the environment (${VAR:?…}): a guessed group id is wrong", name, g)
			}
		}
		for _, v := range s.Volumes {
			if src, ok := hostPath(v); ok {
				if src == "/var/run/docker.sock" && len(s.GroupAdd) == 0 {
					t.Errorf("service %s mounts the Docker socket but adds no group to reach it", name)
				}
				continue
			}
			vol, _, _ := strings.Cut(v, ":")
			if _, ok := c.Volumes[vol]; !ok {
				t.Errorf("service %s mounts undeclared volume %s", name, vol)
			}
		}
	}

	// backlab itself: the top-level Dockerfile, on the host's network (it
	// dials sandboxes on their internal networks) and loopback by default,
	// host PIDs (telling its sandboxes from dead processes' ones), the
	// engine's socket, read-only with a writable /tmp, state in a volume.
	b, ok := c.Services["backlab"]
	if !ok {
		t.Fatal("docker-compose.yml has no service backlab")
	}
	if b.Build.Context != "." || b.Build.Args["BASE"] == "" {
		t.Errorf("service backlab: build the top-level Dockerfile with the BASE argument, got %+v", b.Build)
	}
	if b.NetworkMode != "host" || b.Pid != "host" {
		t.Errorf("service backlab: network_mode %q, pid %q; want host and host", b.NetworkMode, b.Pid)
	}
	if addr := defaultOf(b.Environment["BACKLAB_ADDR"]); !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("service backlab: BACKLAB_ADDR defaults to %q; want loopback", addr)
	}
	if !strings.HasPrefix(defaultOf(b.Environment["BACKLAB_DB"]), "/var/lib/backlab/") {
		t.Errorf("service backlab: BACKLAB_DB defaults to %q; want an SQLite file in the data volume", b.Environment["BACKLAB_DB"])
	}
	if !b.ReadOnly || !slices.ContainsFunc(b.Tmpfs, func(m string) bool { return m == "/tmp" || strings.HasPrefix(m, "/tmp:") }) {
		t.Errorf("service backlab: want read_only with a tmpfs on /tmp, got read_only %v tmpfs %v", b.ReadOnly, b.Tmpfs)
	}
	var socket, state, engineDisk bool
	for _, v := range b.Volumes {
		socket = socket || strings.HasPrefix(v, "/var/run/docker.sock:/var/run/docker.sock")
		state = state || strings.HasSuffix(v, ":/var/lib/backlab")
		engineDisk = engineDisk || strings.HasSuffix(v, ":/var/lib/docker:ro")
	}
	if !socket || !state {
		t.Errorf("service backlab: mount the Docker socket and a volume on /var/lib/backlab, got %v", b.Volumes)
	}
	if !engineDisk {
		t.Errorf("service backlab: mount a folder of the engine's disk read-only on /var/lib/docker, or --min-free-disk measures nothing, got %v", b.Volumes)
	}
}

// TestStoreImage builds the compose file's store and runs backlab's store
// on it: the cluster is created on first start, migrations run, and the
// data survives a restart of the container.
func TestStoreImage(t *testing.T) {
	img := testenv.ImageFromDir(t, "backlab-test/store", filepath.Join("postgres"))
	testenv.UseTestcontainers()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	port := network.MustParsePort("5432/tcp")
	ctr, err := testcontainers.Run(ctx, img,
		testcontainers.WithExposedPorts("5432/tcp"),
		testcontainers.WithEnv(map[string]string{"POSTGRES_PASSWORD": "store-test-pw"}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}}
			hc.CapDrop = []string{"ALL"}
			hc.SecurityOpt = []string{"no-new-privileges"}
		}),
		testcontainers.WithWaitStrategy(wait.ForListeningPort("5432/tcp").WithStartupTimeout(90*time.Second)),
	)
	if ctr != nil {
		t.Cleanup(func() { testcontainers.TerminateContainer(ctr, testcontainers.RemoveVolumes()) })
	}
	if err != nil {
		t.Fatalf("start the store: %v", err)
	}
	open := func() *store.Store {
		hostPort, err := ctr.PortEndpoint(ctx, "5432/tcp", "")
		if err != nil {
			t.Fatal(err)
		}
		var s *store.Store
		for {
			s, err = store.Open(ctx, "postgres://backlab:store-test-pw@"+hostPort+"/backlab?sslmode=disable")
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("backlab's store on the compose store: %v", err)
		}
		return s
	}
	s := open()
	if _, err := s.EnsureUser(ctx, store.User{ID: "kept", Name: "Kept", Role: store.RoleLearner}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := ctr.Stop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := ctr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	if u, err := s.EnsureUser(ctx, store.User{ID: "kept", Name: "Other", Role: store.RoleAdmin}); err != nil || u.Name != "Kept" {
		t.Errorf("after a restart the user is %+v (%v), want the one saved before", u, err)
	}
}
