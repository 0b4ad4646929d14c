package labrun

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/backlab/backlab/runner"
)

// InstanceID names this process on the engine: "host/pid". Sandboxes it
// creates carry it, so that a later process on the same host can tell
// whether their owner still runs.
func InstanceID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// Orphan reports whether a sandbox belongs to a process of this host that
// no longer runs. Sandboxes of other hosts or of other kinds of owner are
// never orphans by this rule.
func Orphan(info runner.SandboxInfo) bool {
	host, pidText, ok := strings.Cut(info.Instance, "/")
	me, _ := os.Hostname()
	if !ok || host != me {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
