package runner

import (
	"context"
	"fmt"
	"strings"
)

// HostProbe is implemented by drivers that can check, from inside a
// sandbox, whether the host that runs the engine can be reached. A server
// uses it at start: a sandbox that can open connections to the host can
// talk to the server's own port, the engine's API when it listens on TCP,
// and anything else that listens there.
type HostProbe interface {
	// ProbeHost starts a throwaway sandbox and tries to open TCP
	// connections from it to every address of the host on ports (and on
	// a port the probe listens on itself). It returns an error only when
	// the probe could not run; the report then counts as unverified.
	ProbeHost(ctx context.Context, ports []int) (IsolationReport, error)
}

// IsolationReport is what a host probe found.
type IsolationReport struct {
	// Tried are the "address port" pairs the probe tried.
	Tried []string
	// Reached are the pairs a sandbox could connect to; empty means the
	// host is isolated.
	Reached []string
}

// Isolated reports whether no connection to the host succeeded.
func (r IsolationReport) Isolated() bool { return len(r.Reached) == 0 }

// String lists what was reached, or says the host was isolated.
func (r IsolationReport) String() string {
	if r.Isolated() {
		return "no connection to the host succeeded (" + plural(len(r.Tried), "target") + " tried)"
	}
	return "a sandbox reached the host at " + strings.Join(r.Reached, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
