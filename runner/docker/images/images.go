package images

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/runner"
)

// Labels on every image the builder makes.
const (
	labelHash = "dev.backlab.image-hash"
	labelLab  = "dev.backlab.lab"
)

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
