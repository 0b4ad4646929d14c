package docker_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/backlab/backlab/runner/docker"
)

// TestProbeHost checks both outcomes of the host probe on the real engine:
// on the usual blk- bridge the firewall rule of scripts/engine.sh drops
// every connection a sandbox opens to the host, so the probe reports the
// host isolated; on a bridge of another name, which the rule does not
// cover (the positive control: the machine's rule stays untouched for the
// tests running beside this one), the probe reaches the host.
func TestProbeHost(t *testing.T) {
	d := newDriver(t)
	if out, err := exec.Command("iptables", "-C", "INPUT", "-i", "blk-+", "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED", "-j", "DROP").CombinedOutput(); err != nil {
		skip := t.Skipf
		if os.Getenv("BACKLAB_REQUIRE_DOCKER") != "" {
			skip = t.Fatalf
		}
		skip("the host isolation rule is not in place (run `sudo bash scripts/engine.sh`): %v %s", err, out)
	}

	rep, err := d.ProbeHost(t.Context(), nil)
	if err != nil {
		t.Fatalf("ProbeHost: %v", err)
	}
	if len(rep.Tried) == 0 {
		t.Fatal("ProbeHost tried no address")
	}
	t.Logf("blk- bridge: tried %v: %s", rep.Tried, rep)
	if !rep.Isolated() {
		t.Errorf("ProbeHost with the rule in place: %s; want isolated", rep)
	}

	var b [3]byte
	_, _ = rand.Read(b[:])
	bridge := "bkp-" + hex.EncodeToString(b[:])
	rep, err = docker.ProbeHostOnBridge(t.Context(), d, nil, bridge)
	if err != nil {
		t.Fatalf("ProbeHost on bridge %s: %v", bridge, err)
	}
	t.Logf("%s bridge: %s", bridge, rep)
	if rep.Isolated() {
		t.Errorf("ProbeHost on bridge %s (not covered by the rule): %s; want the host reached", bridge, rep)
	}
	if !strings.Contains(rep.String(), "reached the host") {
		t.Errorf("report %q does not say the host was reached", rep)
	}
	infos, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Instance == instance && strings.HasPrefix(info.SessionID, "hostprobe-") {
			t.Errorf("the probe left its sandbox %s behind", info.SessionID)
		}
	}
}
