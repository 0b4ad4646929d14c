package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/runner"
)

// cmdBenchMemory measures what one idle sandbox of a lab uses: it starts
// n sandboxes, opens a shell in each (as a learner would), lets them
// settle, and reads every container's memory the way `docker stats` does
// (usage less inactive file cache).
func cmdBenchMemory(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("bench memory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 5, "sandboxes")
	settle := fs.Duration("settle", 15*time.Second, "idle time before measuring")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *n < 1 {
		return errors.New("usage: backlab bench memory LAB [-n N] [-settle 15s]")
	}
	l, err := lab.Load(pos[0])
	if err != nil {
		return err
	}
	e, err := openEngine(ctx, logger, io.Discard)
	if err != nil {
		return err
	}
	defer e.Close()
	e.reapOrphans(ctx, stderr, logger)
	r := e.runner(logger)
	var sessions []*labrun.Run
	defer func() {
		for _, s := range sessions {
			s.Stop(context.WithoutCancel(ctx))
		}
	}()
	for i := range *n {
		s, err := r.Start(ctx, l, ids.New(ids.Bench), nil)
		if err != nil {
			return fmt.Errorf("sandbox %d: %w", i+1, err)
		}
		sessions = append(sessions, s)
		t, err := s.Shell(ctx, runner.TermSize{Cols: 80, Rows: 24})
		if err != nil {
			return err
		}
		defer t.Close()
		if err := shellAnswers(t); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%d sandboxes of %s up; idling %s\n", *n, l.ID, *settle)
	time.Sleep(*settle)
	perService := map[string][]int64{}
	var totals []int64
	for _, s := range sessions {
		f := client.Filters{}.Add("label", runner.LabelSession+"="+s.Sandbox.ID())
		cs, err := e.docker.ContainerList(ctx, client.ContainerListOptions{Filters: f})
		if err != nil {
			return err
		}
		var total int64
		for _, c := range cs.Items {
			mem, err := containerMemory(ctx, e.docker, c.ID)
			if err != nil {
				return err
			}
			svc := c.Labels[runner.LabelService]
			perService[svc] = append(perService[svc], mem)
			total += mem
		}
		totals = append(totals, total)
	}
	fmt.Fprintf(stdout, "\n| service | median MiB | max MiB |\n|---|---|---|\n")
	names := make([]string, 0, len(perService))
	for svc := range perService {
		names = append(names, svc)
	}
	sort.Strings(names)
	for _, svc := range names {
		med, mx := medianMax(perService[svc])
		fmt.Fprintf(stdout, "| %s | %.1f | %.1f |\n", svc, mib(med), mib(mx))
	}
	med, mx := medianMax(totals)
	fmt.Fprintf(stdout, "| **sandbox** | %.1f | %.1f |\n", mib(med), mib(mx))
	var limit int64
	for _, svc := range l.Services {
		limit += svc.Resources.Limits().MemoryBytes
	}
	fmt.Fprintf(stdout, "\nsum of the lab's memory limits: %.0f MiB (what serve's --memory-budget counts)\n", mib(limit))
	return nil
}

// containerMemory is a container's memory as docker stats shows it.
func containerMemory(ctx context.Context, cli *client.Client, id string) (int64, error) {
	res, err := cli.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, err
	}
	used := int64(st.MemoryStats.Usage)
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := st.MemoryStats.Stats[k]; ok && int64(v) < used {
			return used - int64(v), nil
		}
	}
	return used, nil
}

func medianMax(v []int64) (int64, int64) {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)-1]
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
