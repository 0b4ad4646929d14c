package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/backlab/backlab/runner"
)

// isolationFix says how to add the firewall rule that keeps sandboxes off
// the host, for IPv4 and IPv6.
const isolationFix = "fix: run `sudo bash scripts/engine.sh`, which adds the firewall rule, or add it yourself:\n" +
	"  iptables -I INPUT -i blk-+ -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP\n" +
	"  ip6tables -I INPUT -i blk-+ -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP\n" +
	"then start backlab again (see docs/admin.md, \"Host isolation\")"

// isolationFlags registers serve's host-isolation flag.
func isolationFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.BoolVar(&c.acceptUnverifiedIsolation, "accept-unverified-isolation", false, "serve beyond loopback even when the host-isolation check at start cannot run (e.g. before the base image is built); a host that sandboxes reach is refused regardless")
}

// checkHostIsolation runs the host probe at serve's start and decides.
// A sandbox that reaches the host refuses a server beyond loopback (the
// error names the fix) and only warns on loopback. A probe that cannot
// run refuses beyond loopback unless acceptUnverified, and warns
// otherwise. The returned warning is for the log.
func checkHostIsolation(ctx context.Context, probe runner.HostProbe, ports []int, beyondLoopback, acceptUnverified bool) (warn string, err error) {
	rep, perr := probe.ProbeHost(ctx, ports)
	switch {
	case perr != nil:
		msg := fmt.Sprintf("could not verify that sandboxes cannot reach this machine: %v", perr)
		if beyondLoopback && !acceptUnverified {
			return "", fmt.Errorf("%s\nbacklab refuses to serve beyond loopback unverified: build the images (`backlab images build`) and start again, or pass --accept-unverified-isolation to accept the risk", msg)
		}
		return msg, nil
	case !rep.Isolated():
		msg := fmt.Sprintf("sandboxes can open connections to this machine (%s): a learner could reach this server's port and anything else listening here\n%s", rep, isolationFix)
		if beyondLoopback {
			return "", fmt.Errorf("refusing to serve beyond loopback: %s", msg)
		}
		return msg, nil
	}
	return "", nil
}

// isolationPorts are the host ports the probe tries besides its own:
// serve's, and the engine's when it listens on TCP.
func isolationPorts(ln net.Listener, engineHost string) []int {
	var ports []int
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		ports = append(ports, a.Port)
	}
	if u, err := url.Parse(engineHost); err == nil && u.Scheme == "tcp" {
		if p, err := strconv.Atoi(u.Port()); err == nil {
			ports = append(ports, p)
		}
	}
	return ports
}
