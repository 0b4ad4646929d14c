package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

// Image references every lab image depends on.
const (
	// DebianRef is the one upstream image: pulled, or made with debootstrap.
	DebianRef = "debian:bookworm-slim"
	// BaseRef is what lab Dockerfiles start FROM.
	BaseRef = "backlab/base:bookworm"
	// DefaultMirror is the Debian mirror debootstrap uses.
	DefaultMirror = "http://deb.debian.org/debian"

	labelHash = "dev.backlab.image-hash"
	labelLab  = "dev.backlab.lab"
)

//go:embed base/Dockerfile
var baseDockerfile []byte

// Builder builds and resolves images on one Docker engine.
type Builder struct {
	// Docker is the engine's client.
	Docker *client.Client
	// Log receives one line a build step; nil discards.
	Log *slog.Logger
	// Progress receives the engines' build output; nil discards.
	Progress io.Writer
	// CABundle is a PEM file trusted inside every image (for a
	// TLS-intercepting proxy). Empty: BACKLAB_CA_BUNDLE when set, else the
	// host's own CA store (see [CABundle]); "none": no extra CA.
	CABundle string
	// Mirror is the Debian mirror debootstrap uses; empty: [DefaultMirror].
	Mirror string
	// PullTimeout bounds the attempt to pull [DebianRef]; zero: 20s.
	PullTimeout time.Duration
}

// HostCABundle is where Debian keeps the host's trusted CAs.
const HostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// CABundle resolves the CA bundle images trust: flag when set ("none" for
// no extra CA), else BACKLAB_CA_BUNDLE, else the host's own CA store when
// it exists. Trusting the host's store by default makes builds work behind
// the same TLS-intercepting proxy the host trusts, and makes every caller
// (CLI, server, tests) build the same base image.
func CABundle(flag string) string {
	for _, v := range []string{flag, os.Getenv("BACKLAB_CA_BUNDLE")} {
		switch v {
		case "":
			continue
		case "none":
			return ""
		default:
			return v
		}
	}
	if info, err := os.Stat(HostCABundle); err == nil && info.Size() > 0 {
		return HostCABundle
	}
	return ""
}

func (b *Builder) log() *slog.Logger {
	if b.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Log
}

func (b *Builder) progress() io.Writer {
	if b.Progress == nil {
		return io.Discard
	}
	return b.Progress
}

// EnsureBase makes sure [BaseRef] exists and matches the current base
// Dockerfile and CA bundle, building it (and [DebianRef]) when not. It
// returns the base image's id.
func (b *Builder) EnsureBase(ctx context.Context) (string, error) {
	debianID, err := b.ensureDebian(ctx)
	if err != nil {
		return "", err
	}
	var ca []byte
	if bundle := CABundle(b.CABundle); bundle != "" {
		ca, err = os.ReadFile(bundle)
		if err != nil {
			return "", fmt.Errorf("read CA bundle: %w", err)
		}
		if !bytes.Contains(ca, []byte("-----BEGIN CERTIFICATE-----")) {
			return "", fmt.Errorf("CA bundle %s holds no PEM certificate", bundle)
		}
	}
	files := map[string][]byte{"Dockerfile": baseDockerfile, "extra-ca.crt": ca}
	hash := hashFiles(files, debianID)
	if id, ok := b.current(ctx, BaseRef, hash); ok {
		return id, nil
	}
	b.log().Info("building base image", "image", BaseRef)
	ctxTar, err := tarFiles(files)
	if err != nil {
		return "", err
	}
	if err := b.build(ctx, BaseRef, ctxTar, map[string]string{labelHash: hash}); err != nil {
		return "", err
	}
	return b.imageID(ctx, BaseRef)
}

// ensureDebian returns the id of DebianRef, pulling or bootstrapping it.
func (b *Builder) ensureDebian(ctx context.Context) (string, error) {
	if id, err := b.imageID(ctx, DebianRef); err == nil {
		return id, nil
	}
	pullErr := b.pull(ctx, DebianRef)
	if pullErr == nil {
		return b.imageID(ctx, DebianRef)
	}
	b.log().Info("no registry answers; making the base with debootstrap", "image", DebianRef, "pull_error", pullErr)
	if err := b.debootstrap(ctx); err != nil {
		return "", fmt.Errorf("make %s: pull failed (%v) and %w", DebianRef, pullErr, err)
	}
	return b.imageID(ctx, DebianRef)
}

func (b *Builder) pull(ctx context.Context, ref string) error {
	timeout := b.PullTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := b.Docker.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	if err := resp.Wait(ctx); err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	return nil
}

// debootstrap makes DebianRef from Debian's packages: a minbase rootfs,
// cleaned like the official slim image, imported as an image.
func (b *Builder) debootstrap(ctx context.Context) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("debootstrap is not installed (apt-get install debootstrap, or run scripts/engine.sh)")
	}
	if os.Geteuid() != 0 {
		return errors.New("debootstrap needs root: run 'backlab images build' as root once, or load debian:bookworm-slim another way")
	}
	mirror := b.Mirror
	if mirror == "" {
		mirror = DefaultMirror
	}
	dir, err := os.MkdirTemp("", "backlab-rootfs-")
	if err != nil {
		return fmt.Errorf("debootstrap: %w", err)
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "bookworm", dir, mirror)
	cmd.Stdout, cmd.Stderr = b.progress(), b.progress()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debootstrap bookworm from %s: %w", mirror, err)
	}
	if err := cleanRootfs(dir, mirror); err != nil {
		return err
	}
	b.log().Info("debootstrap done", "duration", time.Since(start).Round(time.Millisecond))
	tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "-c", ".")
	out, err := tarCmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("import rootfs: %w", err)
	}
	if err := tarCmd.Start(); err != nil {
		return fmt.Errorf("import rootfs: %w", err)
	}
	resp, err := b.Docker.ImageImport(ctx, client.ImageImportSource{Source: out, SourceName: "-"}, DebianRef, client.ImageImportOptions{
		Changes: []string{`CMD ["bash"]`, `ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`},
	})
	if err != nil {
		_ = tarCmd.Wait()
		return fmt.Errorf("import rootfs: %w", err)
	}
	defer resp.Close()
	if err := readStream(resp, io.Discard); err != nil {
		return fmt.Errorf("import rootfs: %w", err)
	}
	if err := tarCmd.Wait(); err != nil {
		return fmt.Errorf("import rootfs: tar: %w", err)
	}
	return nil
}

// cleanRootfs trims a fresh debootstrap tree as the official slim image is
// trimmed and points apt at the updates and security suites.
func cleanRootfs(dir, mirror string) error {
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*"} {
		matches, _ := filepath.Glob(filepath.Join(dir, glob))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return fmt.Errorf("clean rootfs: %w", err)
			}
		}
	}
	security := strings.TrimSuffix(mirror, "/debian") + "/debian-security"
	if !strings.HasSuffix(mirror, "/debian") {
		security = "http://deb.debian.org/debian-security"
	}
	writes := map[string]string{
		"etc/apt/sources.list": fmt.Sprintf("deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n", mirror, mirror, security),
		"etc/apt/apt.conf.d/docker-clean": "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n" +
			"APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n" +
			"Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n",
		"etc/resolv.conf": "",
	}
	for name, content := range writes {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("clean rootfs: %w", err)
		}
	}
	_ = os.Remove(filepath.Join(dir, "etc/hostname"))
	return nil
}

// Lab returns the images of l, building the missing ones when build is
// true; otherwise a missing image is an error wrapping [runner.ErrImageMissing].
func (b *Builder) Lab(ctx context.Context, l *lab.Lab, build bool) (runner.ImageSet, error) {
	set := runner.ImageSet{Services: map[string]string{}}
	var baseID string
	if build {
		id, err := b.EnsureBase(ctx)
		if err != nil {
			return set, err
		}
		baseID = id
	} else {
		id, err := b.imageID(ctx, BaseRef)
		if err != nil {
			return set, fmt.Errorf("%w: %s (run 'backlab images build')", runner.ErrImageMissing, BaseRef)
		}
		baseID = id
	}
	for _, svc := range l.Services {
		if svc.Image != "" {
			set.Services[svc.Name] = svc.Image
			continue
		}
		ref, err := b.context(ctx, l, l.Path(svc.Build), svc.Tools, l.ID+"-"+svc.Name, baseID, build)
		if err != nil {
			return set, fmt.Errorf("lab %s: service %s: %w", l.ID, svc.Name, err)
		}
		set.Services[svc.Name] = ref
	}
	ref, err := b.checker(ctx, l, baseID, build)
	if err != nil {
		return set, fmt.Errorf("lab %s: checker: %w", l.ID, err)
	}
	set.Checker = ref
	return set, nil
}

// context builds (or finds) the image of one build folder, with the
// service's tools compiled into it as tools/NAME (they count in the hash).
func (b *Builder) context(ctx context.Context, l *lab.Lab, dir string, tools []string, name, baseID string, build bool) (string, error) {
	files, err := readTree(dir)
	if err != nil {
		return "", err
	}
	for _, tool := range tools {
		pkg := lab.Tools[tool]
		if pkg == "" {
			return "", fmt.Errorf("unknown tool %q", tool)
		}
		bin, err := compileGo(ctx, l.Dir(), pkg)
		if err != nil {
			return "", fmt.Errorf("tool %s: %w", tool, err)
		}
		files["x:tools/"+tool] = bin
	}
	hash := hashFiles(files, baseID)
	ref := "backlab/" + name + ":" + hash[:12]
	if _, ok := b.current(ctx, ref, hash); ok {
		return ref, nil
	}
	if !build {
		return "", fmt.Errorf("%w: %s (run 'backlab images build')", runner.ErrImageMissing, ref)
	}
	b.log().Info("building image", "image", ref, "context", dir)
	ctxTar, err := tarFiles(files)
	if err != nil {
		return "", err
	}
	if err := b.build(ctx, ref, ctxTar, map[string]string{labelHash: hash, labelLab: l.ID}); err != nil {
		return "", err
	}
	return ref, nil
}

// checkerDockerfile packs a static checker binary; it runs as nobody.
const checkerDockerfile = `FROM ` + BaseRef + `
COPY checker /usr/local/bin/backlab-checker
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/backlab-checker"]
`

// checker compiles the lab's checker and packs it into an image.
func (b *Builder) checker(ctx context.Context, l *lab.Lab, baseID string, build bool) (string, error) {
	bin, err := CompileChecker(ctx, l.Path(l.Checker.Build))
	if err != nil {
		return "", err
	}
	files := map[string][]byte{"Dockerfile": []byte(checkerDockerfile), "checker": bin}
	hash := hashFiles(files, baseID)
	ref := "backlab/" + l.ID + "-checker:" + hash[:12]
	if _, ok := b.current(ctx, ref, hash); ok {
		return ref, nil
	}
	if !build {
		return "", fmt.Errorf("%w: %s (run 'backlab images build')", runner.ErrImageMissing, ref)
	}
	ctxTar, err := tarFiles(files)
	if err != nil {
		return "", err
	}
	if err := b.build(ctx, ref, ctxTar, map[string]string{labelHash: hash, labelLab: l.ID}); err != nil {
		return "", err
	}
	return ref, nil
}

// CompileChecker builds the Go main package in dir into a static Linux
// binary with the host's Go toolchain and returns its bytes.
func CompileChecker(ctx context.Context, dir string) ([]byte, error) {
	return compileGo(ctx, dir, ".")
}

// compileGo builds the Go main package pkg, resolved from dir, into a
// static Linux binary with the host's Go toolchain and returns its bytes.
// The build is reproducible (-trimpath, no build id), so an unchanged
// package gives the same bytes and the same image hash.
func compileGo(ctx context.Context, dir, pkg string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out, err := os.CreateTemp("", "backlab-checker-")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out.Name(), pkg)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "go.mod file not found") || strings.Contains(msg, "not in std") {
			msg += "\nA checker is built with the backlab module (it imports the checker SDK): keep the lab inside the backlab repository, e.g. in labs/."
		}
		return nil, fmt.Errorf("build %s in %s: %w\n%s", pkg, dir, err, msg)
	}
	return os.ReadFile(out.Name())
}

// current reports whether ref exists and was built from hash.
func (b *Builder) current(ctx context.Context, ref, hash string) (string, bool) {
	res, err := b.Docker.ImageInspect(ctx, ref)
	if err != nil || res.Config == nil || res.Config.Labels[labelHash] != hash {
		return "", false
	}
	return res.ID, true
}

func (b *Builder) imageID(ctx context.Context, ref string) (string, error) {
	res, err := b.Docker.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("%w: %s", runner.ErrImageMissing, ref)
		}
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return res.ID, nil
}

// build runs one image build and streams its output to Progress.
func (b *Builder) build(ctx context.Context, ref string, ctxTar io.Reader, labels map[string]string) error {
	start := time.Now()
	res, err := b.Docker.ImageBuild(ctx, ctxTar, client.ImageBuildOptions{
		Tags: []string{ref}, Remove: true, ForceRemove: true, Labels: labels,
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	defer res.Body.Close()
	pw := &prefixWriter{w: b.progress(), prefix: ref + " | "}
	if err := readStream(res.Body, pw); err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	b.log().Info("built image", "image", ref, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// readStream copies a JSON message stream's text to w and returns the
// first error message in it.
func readStream(r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read engine output: %w", err)
		}
		if m.Error != nil {
			return errors.New(strings.TrimSpace(m.Error.Message))
		}
		if m.Stream != "" {
			io.WriteString(w, m.Stream)
		}
	}
}

// prefixWriter writes each line with a prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := p.buf[:i+1]
		if len(bytes.TrimSpace(line)) > 0 {
			if _, err := io.WriteString(p.w, p.prefix+string(line)); err != nil {
				return len(b), err
			}
		}
		p.buf = p.buf[i+1:]
	}
}

// readTree reads every regular file under dir, keyed by slash path.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&0o111 != 0 {
			rel = "x:" + filepath.ToSlash(rel) // keep the executable bit in the map key
		} else {
			rel = filepath.ToSlash(rel)
		}
		files[rel] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read build context %s: %w", dir, err)
	}
	return files, nil
}

// hashFiles hashes names, modes and contents together with salt.
func hashFiles(files map[string][]byte, salt string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "salt %s\n", salt)
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(h, "%s %x\n", n, sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tarFiles packs a build context. Keys prefixed "x:" are executable.
func tarFiles(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		mode, name := int64(0o644), n
		if rest, ok := strings.CutPrefix(n, "x:"); ok {
			mode, name = 0o755, rest
		}
		if name == "checker" {
			mode = 0o755
		}
		hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(files[n])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
