package docker

import (
	"context"

	"github.com/backlab/backlab/runner"
)

// ProbeHostOnBridge runs the host probe on a network whose Linux bridge is
// named bridge, so that a test can see a host the firewall rule does not
// cover (the rule matches blk-+ bridges only).
func ProbeHostOnBridge(ctx context.Context, d *Driver, ports []int, bridge string) (runner.IsolationReport, error) {
	return d.probeHost(ctx, ports, bridge)
}
