package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
)

// phaseJob is one phase of one lab that `lab test` proves.
type phaseJob struct {
	lab   *lab.Lab
	phase labrun.Phase
}

func (j phaseJob) name() string { return j.lab.ID + ": " + j.phase.Name }

// testPhases runs jobs, at most parallel at once, each in a sandbox of its
// own, and returns their reports in the order of jobs. With parallel 1 a
// phase's events stream to out as they happen; otherwise each phase's
// output is held and written whole when it ends, so that phases do not
// interleave. It returns an error only when ctx ends; a phase that could
// not run is a report with a problem.
func testPhases(ctx context.Context, r *labrun.Runner, jobs []phaseJob, parallel int, out io.Writer) ([]labrun.PhaseReport, error) {
	reports := make([]labrun.PhaseReport, len(jobs))
	var outMu sync.Mutex
	run := func(i int) {
		w, flush := out, func() {}
		if parallel > 1 {
			var buf bytes.Buffer
			w = &buf
			flush = func() {
				outMu.Lock()
				defer outMu.Unlock()
				_, _ = out.Write(buf.Bytes())
			}
		}
		rep, err := r.TestPhase(ctx, jobs[i].lab, jobs[i].phase, w)
		if err != nil {
			rep.Problem = err.Error()
			fmt.Fprintf(w, "   NOT OK: %v\n", err)
		}
		reports[i] = rep
		flush()
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			run(i)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return reports, nil
}
