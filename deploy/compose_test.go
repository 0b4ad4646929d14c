// Package deploy holds what runs beside backlab (docker-compose.yml's
// services); its tests check the compose file and the store image.
package deploy

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
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
		Build       string            `yaml:"build"`
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		CapDrop     []string          `yaml:"cap_drop"`
		SecurityOpt []string          `yaml:"security_opt"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestComposeFile validates docker-compose.yml: every build context has a
// Dockerfile, published ports stay on loopback, secrets must be given,
// containers are hardened, named volumes are declared.
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
		if s.Build != "" {
			if _, err := os.Stat(filepath.Join("..", s.Build, "Dockerfile")); err != nil {
				t.Errorf("service %s: build %s has no Dockerfile", name, s.Build)
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
		if len(s.CapDrop) != 1 || s.CapDrop[0] != "ALL" || len(s.SecurityOpt) == 0 {
			t.Errorf("service %s: drop all capabilities and set no-new-privileges", name)
		}
		for _, v := range s.Volumes {
			vol, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(vol, ".") && !strings.HasPrefix(vol, "/") {
				if _, ok := c.Volumes[vol]; !ok {
					t.Errorf("service %s mounts undeclared volume %s", name, vol)
				}
			}
		}
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
