package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/tui"
)

// cmdRun starts a sandbox of one lab and hands the terminal to the
// learner ([tui.Run]); the sandbox is removed when they quit.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: backlab run LAB (a lab folder, e.g. labs/add-index)")
	}
	l, err := lab.Load(pos[0])
	if err != nil {
		return err
	}
	tui.Title(stdout, l)
	e, err := openEngine(ctx, logger, prefixed(stdout, "   image | "))
	if err != nil {
		return err
	}
	defer e.Close()
	e.reapOrphans(ctx, stderr, logger)
	fmt.Fprintln(stdout, "\nstarting your sandbox (images are built first if missing)…")
	s, err := e.runner(logger).Start(ctx, l, ids.New(ids.Run), labrun.NewPrinter(stdout).Event)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		fmt.Fprintln(stdout, "removing the sandbox…")
		_ = s.Stop(stopCtx)
	}()
	return tui.Run(ctx, s, os.Stdin, stdout)
}

// prefixed writes each line to w with a prefix.
func prefixed(w io.Writer, prefix string) io.Writer {
	var mu sync.Mutex
	var buf []byte
	return writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		buf = append(buf, b...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				return len(b), nil
			}
			fmt.Fprintf(w, "%s%s\n", prefix, buf[:i])
			buf = buf[i+1:]
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
