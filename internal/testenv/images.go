package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: time.Unix(0, 0)})
	io.WriteString(tw, dockerfile)
	tw.Close()
	return ensureImage(t, repo, repo+":"+hex.EncodeToString(sum[:])[:16], &buf)
}

// ensureImage returns tag, building it from ctxTar unless this process or
// the engine has it already.
func ensureImage(t testing.TB, repo, tag string, ctxTar io.Reader) string {
	t.Helper()
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
	if _, err := cli.ImageInspect(t.Context(), tag); err != nil {
		if err := buildContext(t, cli, tag, repo, ctxTar); err != nil {
			t.Fatal(err)
		}
	}
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

// ImageFromDir is [Image] for a build context folder (its Dockerfile
// starting FROM [BaseImage]); the tag hashes every file of the folder.
func ImageFromDir(t testing.TB, repo, dir string) string {
	t.Helper()
	NeedDocker(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %o %x\n", rel, info.Mode().Perm(), sha256.Sum256(data))
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: int64(info.Mode().Perm()), Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatalf("read build context %s: %v", dir, err)
	}
	tw.Close()
	return ensureImage(t, repo, repo+":"+hex.EncodeToString(h.Sum(nil))[:16], &buf)
}

// buildContext builds a tar build context as tag (base image required).
func buildContext(t testing.TB, cli *client.Client, tag, repo string, ctxTar io.Reader) error {
	ctx := t.Context()
	if _, err := cli.ImageInspect(ctx, BaseImage); err != nil {
		return fmt.Errorf("base image %s is missing: run `backlab images build` (scripts/test does): %w", BaseImage, err)
	}
	start := time.Now()
	res, err := cli.ImageBuild(ctx, ctxTar, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels: map[string]string{"dev.backlab.test-image": repo},
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
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
			return fmt.Errorf("build %s: %w", tag, err)
		}
		if m.Error != "" {
			return fmt.Errorf("build %s: %s\n%s", tag, m.Error, log.String())
		}
		log.WriteString(m.Stream)
	}
	t.Logf("built test image %s in %s", tag, time.Since(start).Round(time.Millisecond))
	return nil
}
