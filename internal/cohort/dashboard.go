// Package cohort holds the rules of cohorts apart from how they are
// served: who sees which labs and reaches which cohort, what an invite
// may ask for, and the dashboard's learners × labs grid with its CSV
// export.
package cohort

import (
	"slices"
	"time"

	"github.com/backlab/backlab/internal/store"
)

// Status is how far a learner got on a lab.
type Status string

// A learner's statuses on a lab.
const (
	NotStarted Status = "not_started"
	InProgress Status = "in_progress" // a session, a check run, or a live sandbox
	Passed     Status = "passed"      // a check run passed
)

// Lab is a lab of the catalog, as the dashboard names it.
type Lab struct {
	ID    string
	Title string
}

// Live is a session a learner is in right now.
type Live struct {
	SessionID string
	Lab       string
	State     string
	Since     time.Time
	Checking  bool
}

// Cell is one learner's record on one lab. Zero times mean never.
type Cell struct {
	Status     Status
	Attempts   int // check runs
	Sessions   int // sessions started
	First      time.Time
	Last       time.Time
	Passed     time.Time
	TimeToPass time.Duration // from the first session to the first pass; only when Passed
}

// Row is a learner's line of the grid: their live sessions and a cell for
// every lab of the grid.
type Row struct {
	Learner store.Member
	Live    []Live
	Labs    map[string]Cell
}

// Grid is a cohort's dashboard.
type Grid struct {
	Labs      []Lab // the cohort's labs, in catalog order
	Learners  []Row // in the order of the members given
	Passed    map[string]int
	InSession int // learners in at least one live session
}

// Input is what a dashboard is computed from.
type Input struct {
	Cohort   store.Cohort
	Catalog  []Lab // every lab served, in catalog order
	Members  []store.Member
	Progress map[string]map[string]store.LabProgress // by user id, then lab id
	// Live finds a learner's live session on a lab; nil when nobody is in
	// a session.
	Live func(userID, labID string) (Live, bool)
}

// Dashboard computes a cohort's learners × labs grid. A lab the cohort
// lists but the catalog no longer serves is left out. A live session
// counts as progress: a learner in one has at least started.
func Dashboard(in Input) Grid {
	g := Grid{Labs: []Lab{}, Learners: []Row{}, Passed: map[string]int{}}
	for _, l := range in.Catalog {
		if slices.Contains(in.Cohort.Labs, l.ID) {
			g.Labs = append(g.Labs, l)
		}
	}
	for _, m := range in.Members {
		row := Row{Learner: m, Live: []Live{}, Labs: map[string]Cell{}}
		for _, l := range g.Labs {
			cell := cellOf(in.Progress[m.ID][l.ID])
			if in.Live != nil {
				if live, ok := in.Live(m.ID, l.ID); ok {
					live.Lab = l.ID
					row.Live = append(row.Live, live)
					if cell.Status == NotStarted {
						cell.Status = InProgress
					}
				}
			}
			if cell.Status == Passed {
				g.Passed[l.ID]++
			}
			row.Labs[l.ID] = cell
		}
		if len(row.Live) > 0 {
			g.InSession++
		}
		g.Learners = append(g.Learners, row)
	}
	return g
}

// cellOf turns what the store recorded into a cell.
func cellOf(p store.LabProgress) Cell {
	c := Cell{Status: NotStarted, Attempts: p.Attempts, Sessions: p.Sessions, First: p.First, Last: p.Last, Passed: p.Passed}
	switch {
	case !p.Passed.IsZero():
		c.Status = Passed
		c.TimeToPass = p.TimeToPass()
	case p.Sessions > 0 || p.Attempts > 0:
		c.Status = InProgress
	}
	return c
}

// TimeToPassSeconds is TimeToPass in whole seconds, rounded; ok is false
// when the learner has not passed.
func (c Cell) TimeToPassSeconds() (secs int64, ok bool) {
	if c.Status != Passed || c.Passed.IsZero() {
		return 0, false
	}
	return int64(c.TimeToPass.Round(time.Second) / time.Second), true
}
