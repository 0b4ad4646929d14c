package docker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/testenv"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/runner/docker"
	"github.com/backlab/backlab/runner/runnertest"
)

// instance labels everything this test process creates.
var instance = func() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("dockertest-%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
}()

func newDriver(t *testing.T) *docker.Driver {
	t.Helper()
	testenv.NeedDocker(t)
	d, err := docker.New(t.Context(), docker.Options{Instance: instance})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

var (
	imageOnce sync.Once
	imageRef  string
	imageErr  error
)

// testImage builds the conformance suite's image once per process, unless
// the engine already has it under its content tag.
func testImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	imageOnce.Do(func() {
		tag, buildContext := runnertest.ImageContext(t)
		if _, err := cli.ImageInspect(t.Context(), tag); err == nil {
			imageRef = tag
			return
		}
		if _, err := cli.ImageInspect(t.Context(), runnertest.BaseImage); err != nil {
			imageErr = fmt.Errorf("base image %s is missing (build it with `backlab images build`): %w", runnertest.BaseImage, err)
			return
		}
		res, err := cli.ImageBuild(t.Context(), bytes.NewReader(buildContext), client.ImageBuildOptions{
			Tags: []string{tag}, Remove: true, ForceRemove: true,
			Labels: map[string]string{"dev.backlab.test-image": "runnertest"},
		})
		if err != nil {
			imageErr = fmt.Errorf("build %s: %w", tag, err)
			return
		}
		out, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			imageErr = fmt.Errorf("build %s: %w", tag, err)
			return
		}
		if bytes.Contains(out, []byte(`"error"`)) {
			imageErr = fmt.Errorf("build %s failed:\n%s", tag, out)
			return
		}
		if _, err := cli.ImageInspect(t.Context(), tag); err != nil {
			imageErr = fmt.Errorf("build %s left no image:\n%s", tag, out)
			return
		}
		imageRef = tag
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageRef
}

func TestConformance(t *testing.T) {
	d := newDriver(t)
	img := testImage(t, d.Client())
	runnertest.TestDriver(t, d, runnertest.Config{Image: img, Instance: instance})
}

func session(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func start(t *testing.T, d *docker.Driver, spec runner.SandboxSpec) *docker.Sandbox {
	t.Helper()
	sb, err := d.Start(t.Context(), spec, nil)
	if sb != nil {
		t.Cleanup(func() { sb.Stop(context.Background()) })
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return sb.(*docker.Sandbox)
}

func TestHardening(t *testing.T) {
	d := newDriver(t)
	cli := d.Client()
	img := testImage(t, cli)
	lim := runner.Limits{MemoryBytes: 96 << 20, NanoCPUs: 5e8, Pids: 64}
	spec := runner.SandboxSpec{
		SessionID: session("hard"), LabID: "hardening", Instance: instance,
		Volumes: []string{"code"},
		Services: []runner.ServiceSpec{
			{
				Name: "app", Image: img, Command: []string{"sleep", "infinity"},
				CapAdd: []string{"NET_BIND_SERVICE"}, Limits: lim,
				Mounts: []runner.Mount{{Volume: "code", Path: "/data"}},
				Tmpfs:  map[string]string{"/run/app": "uid=1000,gid=1000,mode=0700"},
			},
			{Name: "side", Image: img, User: "1234:1234", Command: []string{"sleep", "infinity"}},
		},
	}
	sb := start(t, d, spec)

	net, err := cli.NetworkInspect(t.Context(), sb.NetworkID(), client.NetworkInspectOptions{})
	if err != nil {
		t.Fatalf("NetworkInspect: %v", err)
	}
	if !net.Network.Internal {
		t.Errorf("network %s is not internal", net.Network.Name)
	}
	if got, want := net.Network.Options["com.docker.network.bridge.name"], docker.BridgeName(spec.SessionID); got != want || !strings.HasPrefix(got, "blk-") || len(got) > 15 {
		t.Errorf("bridge name = %q, want %q (blk-…, at most 15 bytes)", got, want)
	}
	checkLabels(t, "network", net.Network.Labels, spec, "", "")

	vol, err := cli.VolumeInspect(t.Context(), docker.VolumeName(spec.SessionID, "code"), client.VolumeInspectOptions{})
	if err != nil {
		t.Fatalf("VolumeInspect: %v", err)
	}
	checkLabels(t, "volume", vol.Volume.Labels, spec, "", "")

	tests := []struct {
		service  string
		limits   runner.Limits
		capAdd   []string
		wantUser string
	}{
		{"app", lim, []string{"CAP_NET_BIND_SERVICE"}, "learner"}, // the image's user
		{"side", runner.DefaultLimits, nil, "1234:1234"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			id, err := sb.ContainerID(tt.service)
			if err != nil {
				t.Fatal(err)
			}
			res, err := cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
			if err != nil {
				t.Fatalf("ContainerInspect: %v", err)
			}
			c := res.Container
			hc := c.HostConfig
			if got, want := c.Name, "/"+docker.ContainerName(spec.SessionID, tt.service); got != want {
				t.Errorf("name = %q, want %q", got, want)
			}
			if got, want := c.Config.Hostname, tt.service; got != want {
				t.Errorf("hostname = %q, want %q", got, want)
			}
			checkLabels(t, "container", c.Config.Labels, spec, tt.service, docker.RoleService)
			if !slices.Equal(hc.CapDrop, []string{"ALL"}) {
				t.Errorf("CapDrop = %q, want [ALL]", hc.CapDrop)
			}
			if !slices.Equal(hc.CapAdd, tt.capAdd) {
				t.Errorf("CapAdd = %q, want %q", hc.CapAdd, tt.capAdd)
			}
			if !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
				t.Errorf("SecurityOpt = %q, want no-new-privileges", hc.SecurityOpt)
			}
			if hc.Privileged {
				t.Error("container is privileged")
			}
			if hc.Init == nil || !*hc.Init {
				t.Error("Init is not set")
			}
			if hc.PidsLimit == nil || *hc.PidsLimit != tt.limits.Pids {
				t.Errorf("PidsLimit = %v, want %d", hc.PidsLimit, tt.limits.Pids)
			}
			if hc.Memory != tt.limits.MemoryBytes || hc.MemorySwap != tt.limits.MemoryBytes {
				t.Errorf("Memory, MemorySwap = %d, %d; want both %d", hc.Memory, hc.MemorySwap, tt.limits.MemoryBytes)
			}
			if hc.NanoCPUs != tt.limits.NanoCPUs {
				t.Errorf("NanoCPUs = %d, want %d", hc.NanoCPUs, tt.limits.NanoCPUs)
			}
			if len(hc.Binds) > 0 {
				t.Errorf("Binds = %q, want none", hc.Binds)
			}
			for _, m := range c.Mounts {
				if m.Type != mount.TypeVolume && m.Type != mount.TypeTmpfs {
					t.Errorf("mount %s of type %s, want only volumes and tmpfs", m.Destination, m.Type)
				}
				if strings.Contains(m.Source, "docker.sock") {
					t.Errorf("the Docker socket is mounted at %s", m.Destination)
				}
			}
			if got := c.Config.User; got != tt.wantUser {
				t.Errorf("User = %q, want %q", got, tt.wantUser)
			}
			uid, err := sb.Exec(t.Context(), tt.service, runner.ExecOptions{Cmd: []string{"id", "-u"}})
			if err != nil || strings.TrimSpace(string(uid.Stdout)) == "0" {
				t.Errorf("id -u = %q (err %v), want a non-root uid", uid.Stdout, err)
			}
			status, err := sb.Exec(t.Context(), tt.service, runner.ExecOptions{Cmd: []string{"grep", "-E", "^(CapEff|NoNewPrivs)", "/proc/self/status"}})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if !strings.Contains(string(status.Stdout), "NoNewPrivs:\t1") {
				t.Errorf("/proc/self/status has %q, want NoNewPrivs: 1", status.Stdout)
			}
		})
	}
	t.Run("tmpfs", func(t *testing.T) {
		res, err := sb.Exec(t.Context(), "app", runner.ExecOptions{Cmd: []string{"bash", "-c", "touch /run/app/x && stat -c %u /run/app"}})
		if err != nil || res.ExitCode != 0 || strings.TrimSpace(string(res.Stdout)) != "1000" {
			t.Errorf("tmpfs /run/app: exit %d, stdout %q, stderr %q, err %v; want writable, owned by 1000", res.ExitCode, res.Stdout, res.Stderr, err)
		}
	})
}

func checkLabels(t *testing.T, what string, got map[string]string, spec runner.SandboxSpec, service, role string) {
	t.Helper()
	want := map[string]string{
		runner.LabelManaged:  "true",
		runner.LabelSession:  spec.SessionID,
		runner.LabelLab:      spec.LabID,
		runner.LabelInstance: spec.Instance,
	}
	if service != "" {
		want[runner.LabelService] = service
		want[runner.LabelRole] = role
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s label %s = %q, want %q", what, k, got[k], v)
		}
	}
}

func TestEgressNetwork(t *testing.T) {
	d := newDriver(t)
	img := testImage(t, d.Client())
	sb := start(t, d, runner.SandboxSpec{
		SessionID: session("egress"), LabID: "egress", Instance: instance, Egress: true,
		Services: []runner.ServiceSpec{{Name: "app", Image: img, Command: []string{"sleep", "infinity"}}},
	})
	net, err := d.Client().NetworkInspect(t.Context(), sb.NetworkID(), client.NetworkInspectOptions{})
	if err != nil {
		t.Fatalf("NetworkInspect: %v", err)
	}
	if net.Network.Internal {
		t.Error("network of a sandbox with Egress is internal")
	}
}

func TestRefuseRoot(t *testing.T) {
	d := newDriver(t)
	img := testImage(t, d.Client())
	tests := []struct {
		name    string
		svc     runner.ServiceSpec
		wantErr string
	}{
		{"image without USER", runner.ServiceSpec{Image: runnertest.BaseImage}, "add a non-root USER"},
		{"user root", runner.ServiceSpec{Image: img, User: "root"}, "refusing to run as root"},
		{"uid 0", runner.ServiceSpec{Image: img, User: "0"}, "refusing to run as root"},
		{"uid 0 with a group", runner.ServiceSpec{Image: img, User: "0:1000"}, "refusing to run as root"},
		{"missing image", runner.ServiceSpec{Image: "backlab-test/does-not-exist:1"}, "never pulled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Name = "svc"
			tt.svc.Command = []string{"sleep", "infinity"}
			spec := runner.SandboxSpec{SessionID: session("root"), LabID: "root", Instance: instance, Services: []runner.ServiceSpec{tt.svc}}
			sb, err := d.Start(t.Context(), spec, nil)
			if sb != nil {
				t.Cleanup(func() { sb.Stop(context.Background()) })
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Start error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("job as root", func(t *testing.T) {
		sb := start(t, d, runner.SandboxSpec{SessionID: session("rootjob"), LabID: "root", Instance: instance,
			Services: []runner.ServiceSpec{{Name: "app", Image: img, Command: []string{"sleep", "infinity"}}}})
		job, err := sb.RunJob(t.Context(), runner.JobSpec{Name: "j", Image: runnertest.BaseImage, Command: []string{"true"}})
		if err == nil {
			job.Close(context.Background())
			t.Fatal("RunJob of an image without USER succeeded, want an error")
		}
	})
}

// TestReapLeftovers checks that Reap removes volumes and networks that no
// container uses any more (a server that died half-way through Stop).
func TestReapLeftovers(t *testing.T) {
	d := newDriver(t)
	cli := d.Client()
	orphan := instance + "-leftover"
	sess := session("left")
	labels := map[string]string{
		runner.LabelManaged: "true", runner.LabelSession: sess, runner.LabelLab: "left", runner.LabelInstance: orphan,
	}
	net, err := cli.NetworkCreate(t.Context(), docker.NetworkName(sess), client.NetworkCreateOptions{Driver: "bridge", Internal: true, Labels: labels})
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), net.ID, client.NetworkRemoveOptions{}) })
	if err != nil {
		t.Fatalf("NetworkCreate: %v", err)
	}
	volName := docker.VolumeName(sess, "v")
	_, err = cli.VolumeCreate(t.Context(), client.VolumeCreateOptions{Name: volName, Labels: labels})
	t.Cleanup(func() { cli.VolumeRemove(context.Background(), volName, client.VolumeRemoveOptions{Force: true}) })
	if err != nil {
		t.Fatalf("VolumeCreate: %v", err)
	}
	reaped, err := d.Reap(t.Context(), func(info runner.SandboxInfo) bool { return info.Instance != orphan })
	if err != nil {
		t.Fatalf("Reap: %v", err)
	}
	want := []runner.SandboxInfo{{SessionID: sess, LabID: "left", Instance: orphan}}
	if !slices.Equal(reaped, want) {
		t.Errorf("Reap = %+v, want %+v", reaped, want)
	}
	if _, err := cli.NetworkInspect(t.Context(), net.ID, client.NetworkInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("network after Reap: err = %v, want not found", err)
	}
	if _, err := cli.VolumeInspect(t.Context(), volName, client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("volume after Reap: err = %v, want not found", err)
	}
}

func TestNewWithoutEngine(t *testing.T) {
	_, err := docker.New(t.Context(), docker.Options{Host: "unix://" + t.TempDir() + "/no-docker.sock"})
	if err == nil {
		t.Fatal("New succeeded without an engine")
	}
	for _, want := range []string{"no Docker engine answers", "no-docker.sock", "scripts/engine.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New error %q does not mention %q", err, want)
		}
	}
}

func TestBridgeName(t *testing.T) {
	tests := []string{"a", "rt-0123abcd", strings.Repeat("x", 63)}
	seen := map[string]bool{}
	for _, s := range tests {
		got := docker.BridgeName(s)
		if !strings.HasPrefix(got, "blk-") || len(got) != 15 {
			t.Errorf("BridgeName(%q) = %q, want blk- and 11 more bytes", s, got)
		}
		if seen[got] {
			t.Errorf("BridgeName(%q) = %q, same as another session's", s, got)
		}
		seen[got] = true
	}
}
