package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

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
