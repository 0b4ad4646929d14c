package cohort

import (
	"reflect"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/store"
)

func TestCSV(t *testing.T) {
	paris := time.FixedZone("Paris", 3600)
	evil := store.Member{User: store.User{ID: "u-x", Name: "=HYPERLINK(\"x\")"}, Login: "+x"}
	g := Grid{
		Labs: []Lab{{"redis", "Redis cache"}, {"sql", "SQL index"}},
		Learners: []Row{
			{Learner: ada, Live: []Live{{Lab: "sql"}}, Labs: map[string]Cell{
				"redis": {Status: Passed, Attempts: 2, Sessions: 1, First: t0.In(paris), Last: t0.Add(time.Hour), Passed: t0.Add(30 * time.Minute), TimeToPass: 30 * time.Minute},
				"sql":   {Status: InProgress},
			}},
			{Learner: evil, Live: []Live{}, Labs: map[string]Cell{"redis": {Status: NotStarted}, "sql": {Status: NotStarted}}},
		},
	}
	want := [][]string{
		CSVHeader,
		{"ada", "Ada", "redis", "passed", "2", "1", "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z", "1800", "2026-03-01T10:00:00Z", "no"},
		{"ada", "Ada", "sql", "in_progress", "0", "0", "", "", "", "", "yes"},
		{"'+x", "'=HYPERLINK(\"x\")", "redis", "not_started", "0", "0", "", "", "", "", "no"},
		{"'+x", "'=HYPERLINK(\"x\")", "sql", "not_started", "0", "0", "", "", "", "", "no"},
	}
	if got := CSV(g); !reflect.DeepEqual(got, want) {
		t.Errorf("CSV =\n%q\nwant\n%q", got, want)
	}
	if got := CSV(Grid{}); !reflect.DeepEqual(got, [][]string{CSVHeader}) {
		t.Errorf("CSV of an empty grid = %q, want the header alone", got)
	}
}
