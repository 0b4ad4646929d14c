package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/runner/docker"
	"github.com/backlab/backlab/runner/docker/images"
)

// TestDockerfile checks the top-level Dockerfile's promises without
// building it: the base can be swapped, the server runs as a non-root
// user with `backlab` as entrypoint, and secrets stay out of the context.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var user, entrypoint string
	var stages int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "FROM "):
			stages++
			user = ""
		case strings.HasPrefix(line, "USER "):
			user = strings.TrimSpace(strings.TrimPrefix(line, "USER "))
		case strings.HasPrefix(line, "ENTRYPOINT "):
			entrypoint = strings.TrimSpace(strings.TrimPrefix(line, "ENTRYPOINT "))
		}
	}
	if !bytes.Contains(data, []byte("ARG BASE="+images.BaseRef+"\n")) {
		t.Errorf("Dockerfile: want `ARG BASE=%s` (sites with a registry pass --build-arg BASE=debian:bookworm-slim)", images.BaseRef)
	}
	if stages < 2 {
		t.Errorf("Dockerfile: want a build stage and a runtime stage, got %d stages", stages)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("Dockerfile: the runtime stage runs as %q; want a non-root user", user)
	}
	if entrypoint != `["backlab"]` {
		t.Errorf("Dockerfile: ENTRYPOINT %s; want [\"backlab\"]", entrypoint)
	}
	ignore, err := os.ReadFile(filepath.Join("..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".git", ".env", "bin", "web/ui"} {
		if !bytes.Contains(ignore, []byte("\n"+p+"\n")) && !bytes.HasPrefix(ignore, []byte(p+"\n")) {
			t.Errorf(".dockerignore: want %s left out of the build context", p)
		}
	}
}

// TestBacklabImage builds the image of backlab (the top-level Dockerfile,
// with the engine's layer cache) and runs it as docker-compose.yml does:
// an admin is created with the image, then `serve` runs with the engine's
// socket, the host's network and PIDs, a read-only root and no
// capabilities. Through the API it logs in, starts add-index, runs a check
// (its checker is compiled inside the container) and sees the starter
// fail, then stops the session. Nothing it started outlives it.
func TestBacklabImage(t *testing.T) {
	testenv.NeedDocker(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("the docker command is missing (Debian's docker.io has it): it builds the image as users do")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	base, err := cli.ImageInspect(ctx, images.BaseRef)
	if err != nil {
		t.Fatalf("base image %s is missing: run `backlab images build` (scripts/test does): %v", images.BaseRef, err)
	}

	const tag = "backlab-test/backlab:latest"
	start := time.Now()
	build := exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, "--label", "dev.backlab.test-image=backlab", "..")
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0") // the engine's legacy builder: no buildx needed
	var buildLog bytes.Buffer
	build.Stdout, build.Stderr = &buildLog, &buildLog
	if err := build.Run(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, buildLog.String())
	}
	t.Logf("built %s in %s", tag, time.Since(start).Round(time.Second))

	// The store lives in a volume, as in docker-compose.yml.
	volume := fmt.Sprintf("backlab-test-data-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		rm := exec.Command("docker", "volume", "rm", "-f", volume)
		if out, err := rm.CombinedOutput(); err != nil {
			t.Logf("remove volume %s: %v %s", volume, err, out)
		}
	})
	const password = "image-test-password"
	admin := exec.CommandContext(ctx, "docker", "run", "--rm", "-i", "--network", "none", "--read-only",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "-v", volume+":/var/lib/backlab",
		tag, "admin", "create", "--login", "admin")
	admin.Stdin = strings.NewReader(password + "\n")
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("admin create in the image: %v\n%s", err, out)
	}

	// Checkers compile inside the image, offline and read-only, as serve
	// compiles an edited one: the serve below may find the checker image
	// already built by the host and never compile.
	validate := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none", "--read-only",
		"--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		tag, "lab", "validate", "labs/")
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("lab validate labs/ in the image (compiles every checker): %v\n%s", err, out)
	}

	// serve, set up like the compose service, on a free loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sock, err := os.Stat("/var/run/docker.sock")
	if err != nil {
		t.Fatalf("serve in the image reaches the engine through /var/run/docker.sock: %v", err)
	}
	gid := strconv.Itoa(int(sock.Sys().(*syscall.Stat_t).Gid))
	env := []string{"BACKLAB_ADDR=" + addr, "BACKLAB_CA_BUNDLE=none"}
	binds := []string{"/var/run/docker.sock:/var/run/docker.sock", volume + ":/var/lib/backlab"}
	if info, err := cli.Info(ctx, client.InfoOptions{}); err == nil && info.Info.DockerRootDir != "" {
		// As in docker-compose.yml: the engine's disk, for --min-free-disk.
		binds = append(binds, filepath.Join(info.Info.DockerRootDir, "tmp")+":"+info.Info.DockerRootDir+":ro")
	}
	if ca := images.CABundle(""); ca != "" {
		// The bundle this process's images trust (see docker-compose.yml):
		// with another one, serve would rebuild the base image.
		env[1] = "BACKLAB_CA_BUNDLE=/etc/backlab/host-ca.crt"
		binds = append(binds, ca+":/etc/backlab/host-ca.crt:ro")
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: tag, Cmd: []string{"serve", "labs/add-index"}, Env: env,
			Labels: map[string]string{"dev.backlab.test": "image"}},
		HostConfig: &container.HostConfig{
			NetworkMode: "host", PidMode: "host", GroupAdd: []string{gid}, Binds: binds,
			ReadonlyRootfs: true, Tmpfs: map[string]string{"/tmp": ""},
			CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
		},
	})
	if err != nil {
		t.Fatalf("create the serve container: %v", err)
	}
	id := created.ID
	var instance string // the sandboxes' owner: this host's name and serve's PID on the host
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if t.Failed() {
			t.Logf("serve's log:\n%s", containerLog(cctx, cli, id))
		}
		timeout := 60 // serve stops every sandbox on SIGTERM
		if _, err := cli.ContainerStop(cctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
			t.Logf("stop serve: %v", err)
		}
		if _, err := cli.ContainerRemove(cctx, id, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Logf("remove serve: %v", err)
		}
		if instance == "" {
			return
		}
		d, err := docker.New(cctx, docker.Options{Client: cli})
		if err != nil {
			t.Logf("reap: %v", err)
			return
		}
		defer d.Close()
		reaped, err := d.Reap(cctx, func(info runner.SandboxInfo) bool { return info.Instance != instance })
		if err != nil || len(reaped) > 0 {
			t.Errorf("sandboxes of serve in the image outlived it (reaped now): %v %v", reaped, err)
		}
	})
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	serveStart := time.Now()
	info, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Container.Config.User == "" || strings.HasPrefix(info.Container.Config.User, "0") || info.Container.Config.User == "root" {
		t.Errorf("serve runs as user %q; want the image's non-root user", info.Container.Config.User)
	}
	host, _ := os.Hostname()
	instance = fmt.Sprintf("%s/%d", host, info.Container.State.Pid)

	public := "http://" + addr
	jar, _ := cookiejar.New(nil)
	a := &apiClient{t: t, ctx: ctx, base: public, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	waitFor(t, ctx, 90*time.Second, "serve answering /readyz", func() bool {
		status, _ := a.call("GET", "/readyz", nil, nil)
		return status == http.StatusOK
	})
	t.Logf("serve answers /readyz %s after its start", time.Since(serveStart).Round(time.Millisecond))
	// The image's HEALTHCHECK command, run as Docker runs it.
	if info.Container.Config.Healthcheck == nil || len(info.Container.Config.Healthcheck.Test) < 2 {
		t.Errorf("the image has no HEALTHCHECK: %+v", info.Container.Config.Healthcheck)
	} else if out, err := exec.CommandContext(ctx, "docker", append([]string{"exec", id}, info.Container.Config.Healthcheck.Test[1:]...)...).CombinedOutput(); err != nil {
		t.Errorf("the HEALTHCHECK %v in the container: %v\n%s", info.Container.Config.Healthcheck.Test, err, out)
	}

	// Log in: a state-changing request carries the Origin and the CSRF
	// cookie's value in the header, as the page's script does.
	if status, body := a.call("GET", "/api/me", nil, nil); status != http.StatusUnauthorized {
		t.Fatalf("GET /api/me before logging in: %d %s; want 401 (logins are required once an admin exists)", status, body)
	}
	u, _ := url.Parse(public)
	for _, c := range jar.Cookies(u) {
		if c.Name == "backlab_csrf" {
			a.csrf = c.Value
		}
	}
	if a.csrf == "" {
		t.Fatal("no backlab_csrf cookie after the first request")
	}
	if status, body := a.call("POST", "/api/login", map[string]string{"login": "admin", "password": password}, nil); status != http.StatusOK {
		t.Fatalf("POST /api/login: %d %s", status, body)
	}

	var sess struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Error string `json:"error"`
	}
	started := time.Now()
	if status, body := a.call("POST", "/api/sessions", map[string]string{"lab": "add-index"}, &sess); status != http.StatusCreated {
		t.Fatalf("POST /api/sessions: %d %s", status, body)
	}
	// Cold, serve compiles the checker and builds add-index's images when
	// the engine lacks them (scripts/test builds them first).
	waitFor(t, ctx, 8*time.Minute, "the add-index sandbox", func() bool {
		a.call("GET", "/api/sessions/"+sess.ID, nil, &sess)
		return sess.State != "starting"
	})
	if sess.State != "ready" {
		t.Fatalf("session %s is %s (%s); want ready", sess.ID, sess.State, sess.Error)
	}
	t.Logf("sandbox ready in %s", time.Since(started).Round(time.Millisecond))

	var run struct {
		Run string `json:"run"`
	}
	if status, body := a.call("POST", "/api/sessions/"+sess.ID+"/checks", nil, &run); status != http.StatusAccepted {
		t.Fatalf("POST checks: %d %s", status, body)
	}
	var check struct {
		Outcome string `json:"outcome"`
		Error   string `json:"error"`
		Steps   []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"steps"`
	}
	waitFor(t, ctx, 3*time.Minute, "the check's result", func() bool {
		a.call("GET", "/api/sessions/"+sess.ID+"/checks/"+run.Run, nil, &check)
		return check.Outcome != "" && check.Outcome != "running"
	})
	steps := map[string]string{}
	for _, s := range check.Steps {
		steps[s.ID] = s.Status
	}
	t.Logf("check of the starter: %s %v", check.Outcome, steps)
	if check.Outcome != "failed" || steps["uses-index"] != "failed" {
		t.Errorf("the starter's check gave %s (%s), steps %v; want failed with uses-index failed", check.Outcome, check.Error, steps)
	}

	if status, body := a.call("POST", "/api/sessions/"+sess.ID+"/stop", nil, nil); status != http.StatusOK {
		t.Fatalf("POST stop: %d %s", status, body)
	}
	waitFor(t, ctx, time.Minute, "the sandbox's containers to go", func() bool {
		list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true,
			Filters: make(client.Filters).Add("label", runner.LabelSession+"="+sess.ID)})
		return err == nil && len(list.Items) == 0
	})

	// serve in the container used the host's images as they are: the base
	// image was not rebuilt (a different CA bundle would have done that).
	if after, err := cli.ImageInspect(ctx, images.BaseRef); err != nil || after.ID != base.ID {
		t.Errorf("serve in the image rebuilt %s (id %s, was %s; %v)", images.BaseRef, after.ID, base.ID, err)
	}
}

// apiClient calls serve's API like the page does.
type apiClient struct {
	t          *testing.T
	ctx        context.Context
	base, csrf string
	http       *http.Client
}

// call sends body as JSON and decodes a 2xx answer into out; it returns the
// status (0 when the request failed) and the answer's text.
func (a *apiClient) call(method, path string, body, out any) (int, string) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(a.ctx, method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", a.base)
		req.Header.Set("X-Backlab-CSRF", a.csrf)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(text, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, text)
		}
	}
	return resp.StatusCode, string(text)
}

// waitFor polls ok every half second until it holds, failing t after
// timeout.
func waitFor(t *testing.T, ctx context.Context, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("gave up waiting for %s after %s", what, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func containerLog(ctx context.Context, cli *client.Client, id string) string {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "200"})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	var b bytes.Buffer
	stdcopy.StdCopy(&b, &b, rc)
	return b.String()
}
