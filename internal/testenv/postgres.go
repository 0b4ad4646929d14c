package testenv

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Postgres starts a PostgreSQL server of its own for t in a container
// (testcontainers-go), published on loopback only and hardened like a
// sandbox service, and returns its DSN. The container is removed when t
// ends.
func Postgres(t testing.TB) string {
	t.Helper()
	img := Image(t, "backlab-test/postgres", PostgresDockerfile)
	UseTestcontainers()
	port := network.MustParsePort("5432/tcp")
	ctr, err := testcontainers.Run(t.Context(), img,
		testcontainers.WithExposedPorts("5432/tcp"),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}}
			hc.CapDrop = []string{"ALL"}
			hc.SecurityOpt = []string{"no-new-privileges"}
			hc.Memory, hc.PidsLimit = 512<<20, ptr(int64(128))
		}),
		testcontainers.WithWaitStrategy(
			wait.ForLog("database system is ready to accept connections").WithStartupTimeout(60*time.Second),
			wait.ForListeningPort("5432/tcp").WithStartupTimeout(60*time.Second),
		),
	)
	if ctr != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := testcontainers.TerminateContainer(ctr, testcontainers.StopContext(ctx)); err != nil {
				t.Logf("remove postgres container: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	hostPort, err := ctr.PortEndpoint(t.Context(), "5432/tcp", "")
	if err != nil {
		t.Fatalf("postgres endpoint: %v", err)
	}
	return PostgresDSN(hostPort)
}

func ptr[T any](v T) *T { return &v }
