package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/backlab/backlab/runner"
)

// logLines is how many of a failed service's last log lines errors show.
const logLines = 20

// waitReady polls svc's readiness probe until it passes, the container
// exits, the probe's timeout passes or ctx ends.
func (s *Sandbox) waitReady(ctx context.Context, svc *service) error {
	p := svc.spec.Readiness
	timeout := runner.DefaultProbeTimeout
	if p != nil && p.Timeout > 0 {
		timeout = p.Timeout
	}
	deadline := time.Now().Add(timeout)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var lastErr error
	attempts := 0
	for {
		state, err := s.inspectService(ctx, svc)
		if err != nil {
			return err
		}
		if !state.Running && !state.Restarting {
			logs := s.d.lastLogs(context.WithoutCancel(ctx), svc.id, logLines)
			oom := ""
			if state.OOMKilled {
				oom = " (killed: out of memory)"
			}
			return fmt.Errorf("exited with code %d%s before it was ready; last log lines:\n%s", state.ExitCode, oom, logs)
		}
		if p == nil {
			return nil // running is ready
		}
		attempts++
		lastErr = s.probeOnce(wctx, svc, p, deadline)
		if lastErr == nil {
			s.log.Debug("service ready", "service", svc.spec.Name, "attempts", attempts)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for readiness: %w (last probe error: %v)", ctx.Err(), lastErr)
		case <-wctx.Done():
			logs := s.d.lastLogs(context.WithoutCancel(ctx), svc.id, logLines)
			return fmt.Errorf("not ready after %s (%d %s probes); last probe error: %v; last log lines:\n%s", timeout, attempts, p.Kind, lastErr, logs)
		case <-time.After(s.d.opts.ProbeInterval):
		}
	}
}

// probeOnce runs one attempt of p. An attempt never outlives deadline.
func (s *Sandbox) probeOnce(ctx context.Context, svc *service, p *runner.Probe, deadline time.Time) error {
	attempt := 2 * time.Second
	if p.Kind == runner.ProbeExec {
		attempt = 10 * time.Second
	}
	if rest := time.Until(deadline); rest < attempt {
		attempt = rest
	}
	if attempt <= 0 {
		return errors.New("probe timeout reached")
	}
	ctx, cancel := context.WithTimeout(ctx, attempt)
	defer cancel()
	switch p.Kind {
	case runner.ProbeTCP, runner.ProbeHTTP:
		ip := svc.addr()
		if !ip.IsValid() {
			return errors.New("container has no address on the sandbox network yet")
		}
		addr := netip.AddrPortFrom(ip, uint16(p.Port)).String()
		if p.Kind == runner.ProbeTCP {
			var dialer net.Dialer
			conn, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			return conn.Close()
		}
		path := p.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return err
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	case runner.ProbeExec:
		res, err := s.exec(ctx, svc, runner.ExecOptions{Cmd: p.Command}, 4<<10)
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			out := strings.TrimSpace(string(res.Stderr) + " " + string(res.Stdout))
			return fmt.Errorf("%s exited with code %d: %s", strings.Join(p.Command, " "), res.ExitCode, out)
		}
		return nil
	}
	return fmt.Errorf("unknown probe kind %q", p.Kind)
}

// probeClient does HTTP probes: no proxy from the environment (the target
// is a container address), no keep-alive, no redirects followed.
var probeClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}
