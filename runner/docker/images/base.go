package images

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"time"

	"github.com/moby/moby/client"
)

// Image references every lab image depends on.
const (
	// DebianRef is the one upstream image: pulled, or made with debootstrap.
	DebianRef = "debian:bookworm-slim"
	// BaseRef is what lab Dockerfiles start FROM.
	BaseRef = "backlab/base:bookworm"
	// DefaultMirror is the Debian mirror debootstrap uses.
	DefaultMirror = "http://deb.debian.org/debian"
)

//go:embed base/Dockerfile
var baseDockerfile []byte

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
