package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// BaseImage is the image every test image builds on; `backlab images
// build` (run by scripts/test) makes it.
const BaseImage = "backlab/base:bookworm"

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Image returns a local image built from dockerfile (FROM [BaseImage])
// tagged repo:<hash of the Dockerfile>, building it only when the engine
// lacks that tag. It needs a Docker engine (see [NeedDocker]).
func Image(t testing.TB, repo, dockerfile string) string {
	t.Helper()
	NeedDocker(t)
	sum := sha256.Sum256([]byte(dockerfile))
	tag := repo + ":" + hex.EncodeToString(sum[:])[:16]
	buildMu.Lock()
	defer buildMu.Unlock()
	if ref, ok := built[tag]; ok {
		return ref
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	defer cli.Close()
	ctx := t.Context()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		built[tag] = tag
		return tag
	}
	if _, err := cli.ImageInspect(ctx, BaseImage); err != nil {
		t.Fatalf("base image %s is missing: run `backlab images build` (scripts/test does): %v", BaseImage, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: time.Unix(0, 0)})
	io.WriteString(tw, dockerfile)
	tw.Close()
	start := time.Now()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels: map[string]string{"dev.backlab.test-image": repo},
	})
	if err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	defer res.Body.Close()
	var log strings.Builder
	dec := json.NewDecoder(res.Body)
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); err != nil {
			if err == io.EOF {
				break
			}
			t.Fatalf("build %s: %v", tag, err)
		}
		if m.Error != "" {
			t.Fatalf("build %s: %s\n%s", tag, m.Error, log.String())
		}
		log.WriteString(m.Stream)
	}
	t.Logf("built test image %s in %s", tag, time.Since(start).Round(time.Millisecond))
	built[tag] = tag
	return tag
}

// UseTestcontainers sets what testcontainers-go needs on a machine without
// a registry: no Ryuk (its image cannot be pulled; tests remove their own
// containers) and, where unset, loopback as the host containers are
// reached on (a /.dockerenv on the host makes it guess a gateway
// otherwise). Call it before the first testcontainers call.
func UseTestcontainers() {
	for k, v := range map[string]string{"TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
}

// PostgresDockerfile is PostgreSQL 15 from Debian, small and fast (no
// fsync), password "postgres", database "lab".
const PostgresDockerfile = `FROM ` + BaseImage + `
RUN apt-get update && apt-get install -y postgresql-15 && rm -rf /var/lib/apt/lists/* \
 && printf "listen_addresses='*'\nshared_buffers=32MB\nmax_connections=30\nfsync=off\nsynchronous_commit=off\nfull_page_writes=off\njit=off\n" >> /etc/postgresql/15/main/postgresql.conf \
 && echo "host all all 0.0.0.0/0 scram-sha-256" >> /etc/postgresql/15/main/pg_hba.conf \
 && pg_ctlcluster 15 main start \
 && su postgres -c "psql -c \"ALTER USER postgres PASSWORD 'postgres'\" -c 'CREATE DATABASE lab'" \
 && pg_ctlcluster 15 main stop
USER postgres
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main", "-c", "config_file=/etc/postgresql/15/main/postgresql.conf"]
`

// PostgresDSN formats the DSN of a [PostgresDockerfile] server at hostPort.
func PostgresDSN(hostPort string) string {
	return fmt.Sprintf("postgres://postgres:postgres@%s/lab?sslmode=disable", hostPort)
}
