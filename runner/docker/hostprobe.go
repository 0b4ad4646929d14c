package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/backlab/backlab/runner"
)

var _ runner.HostProbe = (*Driver)(nil)

// ProbeImage is the image the host probe runs: the base every lab image
// is built on, which has bash and coreutils' timeout.
const ProbeImage = "backlab/base:bookworm"

// Bounds of the host probe.
const (
	// probeConnectTimeout bounds each connection attempt inside the probe.
	probeConnectTimeout = 3 * time.Second
	// probeMaxTargets caps the address and port pairs tried.
	probeMaxTargets = 128
)

// probeScript tries each "address port" argument at once, each bounded by
// timeout, and prints "open address port" for each connection that
// succeeded. A dropped connection attempt hangs until the timeout; a
// refused one fails at once.
const probeScript = `t=$1; shift
for a in "$@"; do
  timeout -s KILL "$t" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${a% *}" "${a#* }" 2>/dev/null && echo "open $a" &
done
wait
echo done`

// ProbeHost starts a throwaway sandbox (one service of [ProbeImage] on an
// internal network, hardened like every sandbox) and tries to open TCP
// connections from it to every address of the host on ports and on a port
// it listens on itself for the test, so that a missing firewall rule shows
// even when nothing else listens. The addresses are the network's gateway,
// every non-loopback address of this machine's interfaces (IPv4, and IPv6
// global and unique local ones) and the bridge's IPv6 link-local address.
// See [runner.HostProbe].
func (d *Driver) ProbeHost(ctx context.Context, ports []int) (runner.IsolationReport, error) {
	return d.probeHost(ctx, ports, "")
}

// probeHost is ProbeHost on a network whose bridge is named bridge (empty:
// the usual blk- name the firewall rule covers).
func (d *Driver) probeHost(ctx context.Context, ports []int, bridge string) (runner.IsolationReport, error) {
	var rep runner.IsolationReport
	if _, err := d.cli.ImageInspect(ctx, ProbeImage); err != nil {
		return rep, fmt.Errorf("host probe: image %s is not built yet (run `backlab images build`): %w", ProbeImage, err)
	}
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return rep, fmt.Errorf("host probe: listen on the host: %w", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ports = append(slices.Clone(ports), ln.Addr().(*net.TCPAddr).Port)

	var b [6]byte
	_, _ = rand.Read(b[:])
	spec := runner.SandboxSpec{
		SessionID: "hostprobe-" + hex.EncodeToString(b[:]),
		LabID:     "hostprobe",
		Services: []runner.ServiceSpec{{
			Name:    "probe",
			Image:   ProbeImage,
			Command: []string{"sleep", "infinity"},
			User:    "65534:65534",
			Limits:  runner.Limits{MemoryBytes: 64 << 20, NanoCPUs: 5e8, Pids: 256},
		}},
	}
	sb, err := d.start(ctx, spec, nil, bridge)
	if sb != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := sb.Stop(sctx); err != nil {
				d.log.Warn("host probe: remove the probe sandbox", "err", err)
			}
		}()
	}
	if err != nil {
		return rep, fmt.Errorf("host probe: %w", err)
	}
	addrs, err := d.hostAddrs(ctx, sb)
	if err != nil {
		return rep, fmt.Errorf("host probe: %w", err)
	}
	var targets []string
	for _, a := range addrs {
		for _, p := range ports {
			if p > 0 && len(targets) < probeMaxTargets {
				targets = append(targets, a+" "+strconv.Itoa(p))
			}
		}
	}
	rep.Tried = targets
	ectx, cancel := context.WithTimeout(ctx, probeConnectTimeout+20*time.Second)
	defer cancel()
	cmd := append([]string{"bash", "-c", probeScript, "probe", strconv.Itoa(int(probeConnectTimeout / time.Second))}, targets...)
	res, err := sb.Exec(ectx, "probe", runner.ExecOptions{Cmd: cmd})
	if err != nil {
		return rep, fmt.Errorf("host probe: run the connection attempts: %w", err)
	}
	if res.ExitCode != 0 || !bytes.Contains(res.Stdout, []byte("done")) {
		return rep, fmt.Errorf("host probe: the connection attempts exited with code %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	sc := bufio.NewScanner(bytes.NewReader(res.Stdout))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "open" {
			rep.Reached = append(rep.Reached, net.JoinHostPort(f[1], f[2]))
		}
	}
	slices.Sort(rep.Reached)
	d.log.Debug("host probe", "tried", len(targets), "reached", rep.Reached)
	return rep, nil
}

// hostAddrs returns the addresses a sandbox of sb's network could reach
// the host at, as the probe's bash writes them.
func (d *Driver) hostAddrs(ctx context.Context, sb *Sandbox) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	n, err := d.cli.NetworkInspect(ctx, sb.NetworkID(), client.NetworkInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect the probe's network: %w", err)
	}
	for _, c := range n.Network.IPAM.Config {
		if c.Gateway.IsValid() {
			add(c.Gateway.Unmap().String())
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list this machine's interfaces: %w", err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		as, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			pfx, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := pfx.Addr().Unmap()
			switch {
			case ip.IsLoopback() || ip.IsMulticast() || ip.IsUnspecified():
			case ip.Is4():
				add(ip.String())
			case ip.IsLinkLocalUnicast():
				// Reachable from a sandbox only on its own bridge, as
				// the sandbox's eth0.
				if ifc.Name == sb.bridge {
					add(ip.WithZone("eth0").String())
				}
			default:
				add(ip.String())
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("found no address of the host to try")
	}
	return out, nil
}
