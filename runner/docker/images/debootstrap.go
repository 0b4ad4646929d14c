package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

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
