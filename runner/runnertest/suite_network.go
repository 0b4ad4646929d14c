package runnertest

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/backlab/backlab/runner"
)

func (s *suite) testByName(t *testing.T, sb runner.Sandbox) {
	if got := run(t, sb, "work", "labtool", "dial", "db:5432"); !strings.Contains(got, "ok") {
		t.Errorf("dial db:5432 from work = %q, want ok", got)
	}
	if got, want := run(t, sb, "work", "labtool", "get", "http://api:8080/x"), "host=api path=/x"; !strings.Contains(got, want) {
		t.Errorf("GET http://api:8080/x from work = %q, want it to contain %q", got, want)
	}
	if got, want := run(t, sb, "db", "hostname"), "db\n"; got != want {
		t.Errorf("hostname of db = %q, want %q", got, want)
	}
}

func (s *suite) testNoEgress(t *testing.T, sb runner.Sandbox) {
	res, err := sb.Exec(t.Context(), "work", runner.ExecOptions{Cmd: []string{"labtool", "get", "-timeout", "5s", "http://deb.debian.org/debian/"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.ExitCode == 0 {
		t.Errorf("a sandbox without egress fetched http://deb.debian.org/debian/: %.200s", res.Stdout)
	}
	t.Logf("egress attempt failed as it should: %s", bytes.TrimSpace(res.Stderr))
}

// hostAddrs returns the non-loopback IPv4 addresses of this machine.
func hostAddrs(t *testing.T) []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("interface addresses: %v", err)
	}
	var out []net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil {
			continue
		}
		out = append(out, ipn.IP)
	}
	return out
}

func (s *suite) testNoHost(t *testing.T, sb runner.Sandbox) {
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	var accepted sync.WaitGroup
	accepted.Add(1)
	var conns []string
	var mu sync.Mutex
	go func() {
		defer accepted.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c.RemoteAddr().String())
			mu.Unlock()
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	ips := s.cfg.HostAddrs
	if ips == nil {
		ips = hostAddrs(t)
	}
	if len(ips) == 0 {
		t.Skip("this machine has no non-loopback IPv4 address to test")
	}
	cmd := []string{"labtool", "dial", "-timeout", "2s"}
	for _, ip := range ips {
		cmd = append(cmd, net.JoinHostPort(ip.String(), fmt.Sprint(port)))
	}
	res, err := sb.Exec(t.Context(), "work", runner.ExecOptions{Cmd: cmd})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		addr, result, _ := strings.Cut(line, " ")
		if result == "ok" {
			t.Errorf("the sandbox reached the host at %s (a port the host listens on at 0.0.0.0)", addr)
		}
	}
	ln.Close()
	accepted.Wait()
	if len(conns) > 0 {
		t.Errorf("the host accepted connections from the sandbox: %v", conns)
	}
	t.Logf("dials to the host from the sandbox:\n%s", res.Stdout)
}

func (s *suite) testIsolation(t *testing.T, a runner.Sandbox) {
	ctx := t.Context()
	spec := runner.SandboxSpec{
		SessionID: s.session(), LabID: "runnertest", Instance: s.cfg.Instance,
		Services: []runner.ServiceSpec{{
			Name: "db", Image: s.cfg.Image,
			Command:   []string{"labtool", "serve", "-tcp", ":5432"},
			Readiness: s.probe(runner.ProbeTCP, 5432, ""),
		}},
	}
	b, err := s.d.Start(ctx, spec, nil)
	s.cleanup(t, b)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ipOf := func(sb runner.Sandbox) string {
		return strings.Fields(run(t, sb, "db", "hostname", "-i"))[0]
	}
	aDB, bDB := ipOf(a), ipOf(b)
	tests := []struct {
		name   string
		from   runner.Sandbox
		target string
		wantOK bool
	}{
		{"own service by address", a, aDB + ":5432", true},
		{"other sandbox by address", a, bDB + ":5432", false},
		{"other sandbox by address, reverse", b, aDB + ":5432", false},
		{"other sandbox's service name", b, "api:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := "work"
			if tt.from == b {
				svc = "db"
			}
			res, err := tt.from.Exec(ctx, svc, runner.ExecOptions{Cmd: []string{"labtool", "dial", "-timeout", "2s", tt.target}})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if got := res.ExitCode == 0; got != tt.wantOK {
				t.Errorf("dial %s: connected = %v, want %v (%s)", tt.target, got, tt.wantOK, bytes.TrimSpace(res.Stdout))
			}
		})
	}
}
