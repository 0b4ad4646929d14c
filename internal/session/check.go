package session

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/runner"
)

// RunResult is what the store keeps of a finished run.
type RunResult struct {
	Steps      []labrun.StepResult `json:"steps"`
	Metrics    []runner.Event      `json:"metrics"`
	DurationMS int64               `json:"duration_ms"`
}

// StartCheck runs the lab's checker in the background; its events are
// recorded and published as they happen. It returns the run's id.
func (s *Session) StartCheck(ctx context.Context) (string, error) {
	ls, err := s.Sandbox()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.checking {
		s.mu.Unlock()
		return "", ErrCheckRunning
	}
	s.checking = true
	gen := s.gen
	// The sandbox's context: Stop and Reset end the check with it.
	runCtx := s.ctx
	s.mu.Unlock()

	runID := ids.New(ids.CheckRun)
	st := s.m.cfg.Store
	if err := st.StartCheckRun(ctx, store.CheckRun{ID: runID, SessionID: s.ID, UserID: s.UserID, LabID: s.Lab.ID, Started: time.Now()}); err != nil {
		s.mu.Lock()
		s.checking = false
		s.mu.Unlock()
		return "", err
	}
	s.Touch()
	go func() {
		seq := 0
		var finished *Message // published once the result is stored
		record := func(ev runner.Event) {
			msg := Message{Event: ev, Run: runID}
			if msg.Time.IsZero() {
				msg.Time = time.Now().UTC()
			}
			if b, err := json.Marshal(msg); err == nil {
				if err := st.AddCheckEvent(context.WithoutCancel(runCtx), runID, seq, b); err != nil {
					s.m.log.Error("record check event", "run", runID, "err", err)
				}
				seq++
			}
			if ev.Type == runner.EventCheckFinished {
				finished = &msg
				return
			}
			s.publish(msg)
		}
		res, err := ls.Check(runCtx, record)
		outcome, errMsg := string(res.Outcome), res.Error
		if err != nil {
			outcome = string(runner.OutcomeError)
			errMsg = fmt.Sprintf("the check could not run: %v", err)
			if runCtx.Err() != nil {
				errMsg = "the check was stopped because the sandbox stopped"
			}
			record(runner.Event{Type: runner.EventCheckFinished, Outcome: runner.OutcomeError, Message: errMsg})
		}
		result, _ := json.Marshal(RunResult{Steps: res.Steps, Metrics: nonNil(res.Metrics), DurationMS: res.Duration.Milliseconds()})
		if err := st.FinishCheckRun(context.WithoutCancel(runCtx), runID, outcome, errMsg, result); err != nil {
			s.m.log.Error("record check result", "run", runID, "err", err)
		}
		s.m.cfg.Observer.Checked(s.Lab.ID, outcome, res.Duration)
		s.m.log.Info("check finished", "session", s.ID, "lab", s.Lab.ID, "run", runID, "outcome", outcome, "duration", res.Duration.Round(time.Millisecond))
		s.mu.Lock()
		if finished != nil {
			s.publishLocked(*finished)
		}
		if s.gen == gen {
			s.checking = false
			s.expires = time.Now().Add(s.m.cfg.IdleTimeout)
		}
		v := s.viewLocked()
		s.publishLocked(Message{Event: runner.Event{Type: MsgSession}, Session: &v})
		s.mu.Unlock()
	}()
	return runID, nil
}

func nonNil(m []runner.Event) []runner.Event {
	if m == nil {
		return []runner.Event{}
	}
	return m
}
