package cohort

import (
	"strconv"
	"strings"
	"time"
)

// CSVHeader names the columns of [CSV].
var CSVHeader = []string{"login", "name", "lab", "status", "attempts", "sessions", "first_session_at", "passed_at",
	"time_to_pass_seconds", "last_activity_at", "in_session_now"}

// CSV is the grid as spreadsheet rows, header first: one row per learner
// and lab, times in UTC RFC 3339, empty when never.
func CSV(g Grid) [][]string {
	rows := [][]string{CSVHeader}
	for _, l := range g.Learners {
		for _, lab := range g.Labs {
			cell := l.Labs[lab.ID]
			ttp := ""
			if secs, ok := cell.TimeToPassSeconds(); ok {
				ttp = strconv.FormatInt(secs, 10)
			}
			live := "no"
			for _, lv := range l.Live {
				if lv.Lab == lab.ID {
					live = "yes"
				}
			}
			rows = append(rows, []string{csvText(l.Learner.Login), csvText(l.Learner.Name), lab.ID, string(cell.Status),
				strconv.Itoa(cell.Attempts), strconv.Itoa(cell.Sessions), csvTime(cell.First), csvTime(cell.Passed), ttp,
				csvTime(cell.Last), live})
		}
	}
	return rows
}

// csvText keeps a spreadsheet from reading text people typed as a formula.
func csvText(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
