package cohort

import (
	"reflect"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/store"
)

var (
	t0  = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ada = store.Member{User: store.User{ID: "u-ada", Name: "Ada"}, Login: "ada", Joined: t0}
	bob = store.Member{User: store.User{ID: "u-bob", Name: "Bob"}, Login: "bob", Joined: t0}
	// The catalog serves three labs in this order.
	catalog = []Lab{{"redis", "Redis cache"}, {"sql", "SQL index"}, {"queue", "Work queue"}}
)

// liveOn answers Live for the given learner and lab pairs.
func liveOn(pairs ...[2]string) func(userID, labID string) (Live, bool) {
	return func(userID, labID string) (Live, bool) {
		for _, p := range pairs {
			if p == [2]string{userID, labID} {
				return Live{SessionID: "s-" + userID + "-" + labID, State: "ready", Since: t0}, true
			}
		}
		return Live{}, false
	}
}

func TestDashboard(t *testing.T) {
	notStarted := Cell{Status: NotStarted}
	passed := store.LabProgress{Sessions: 1, Attempts: 3, First: t0, Last: t0.Add(50 * time.Minute), Passed: t0.Add(42*time.Minute + 400*time.Millisecond)}
	passedCell := Cell{Status: Passed, Attempts: 3, Sessions: 1, First: passed.First, Last: passed.Last, Passed: passed.Passed,
		TimeToPass: 42*time.Minute + 400*time.Millisecond}
	for _, tc := range []struct {
		name string
		in   Input
		want Grid
	}{{
		name: "an empty cohort encodes as empty lists",
		in:   Input{Cohort: store.Cohort{Labs: nil}, Catalog: catalog},
		want: Grid{Labs: []Lab{}, Learners: []Row{}, Passed: map[string]int{}},
	}, {
		name: "the cohort's labs in catalog order; one no longer served is left out",
		in:   Input{Cohort: store.Cohort{Labs: []string{"queue", "gone", "redis"}}, Catalog: catalog, Members: []store.Member{ada}},
		want: Grid{Labs: []Lab{catalog[0], catalog[2]}, Passed: map[string]int{},
			Learners: []Row{{Learner: ada, Live: []Live{}, Labs: map[string]Cell{"redis": notStarted, "queue": notStarted}}}},
	}, {
		name: "a session or a check run is progress, a passing run a pass",
		in: Input{Cohort: store.Cohort{Labs: []string{"redis", "sql", "queue"}}, Catalog: catalog, Members: []store.Member{ada, bob},
			Progress: map[string]map[string]store.LabProgress{
				"u-ada": {"redis": passed, "sql": {Sessions: 2, First: t0, Last: t0}},
				"u-bob": {"redis": {Attempts: 1, Last: t0}, "other": passed},
			}},
		want: Grid{Labs: catalog, Passed: map[string]int{"redis": 1}, Learners: []Row{
			{Learner: ada, Live: []Live{}, Labs: map[string]Cell{"redis": passedCell,
				"sql": {Status: InProgress, Sessions: 2, First: t0, Last: t0}, "queue": notStarted}},
			{Learner: bob, Live: []Live{}, Labs: map[string]Cell{"redis": {Status: InProgress, Attempts: 1, Last: t0},
				"sql": notStarted, "queue": notStarted}},
		}},
	}, {
		name: "a live session starts a lab, keeps a pass, and counts its learner once",
		in: Input{Cohort: store.Cohort{Labs: []string{"redis", "sql"}}, Catalog: catalog, Members: []store.Member{ada, bob},
			Progress: map[string]map[string]store.LabProgress{"u-ada": {"redis": passed}},
			Live:     liveOn([2]string{"u-ada", "redis"}, [2]string{"u-ada", "sql"}, [2]string{"u-bob", "queue"})},
		want: Grid{Labs: catalog[:2], Passed: map[string]int{"redis": 1}, InSession: 1, Learners: []Row{
			{Learner: ada,
				Live: []Live{{SessionID: "s-u-ada-redis", Lab: "redis", State: "ready", Since: t0}, {SessionID: "s-u-ada-sql", Lab: "sql", State: "ready", Since: t0}},
				Labs: map[string]Cell{"redis": passedCell, "sql": {Status: InProgress}}},
			{Learner: bob, Live: []Live{}, Labs: map[string]Cell{"redis": notStarted, "sql": notStarted}},
		}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := Dashboard(tc.in)
			if tc.want.Learners == nil {
				tc.want.Learners = []Row{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Dashboard =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestTimeToPassSeconds(t *testing.T) {
	for _, tc := range []struct {
		cell   Cell
		secs   int64
		passed bool
	}{
		{Cell{Status: Passed, Passed: t0, TimeToPass: 90*time.Second + 600*time.Millisecond}, 91, true},
		{Cell{Status: Passed, Passed: t0, TimeToPass: 0}, 0, true},
		{Cell{Status: InProgress, TimeToPass: time.Minute}, 0, false},
		{Cell{Status: NotStarted}, 0, false},
	} {
		secs, ok := tc.cell.TimeToPassSeconds()
		if secs != tc.secs || ok != tc.passed {
			t.Errorf("%+v: TimeToPassSeconds = %d, %v; want %d, %v", tc.cell, secs, ok, tc.secs, tc.passed)
		}
	}
}
