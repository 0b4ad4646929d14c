package main

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/backlab/backlab/runner"
)

// fakeHostProbe answers ProbeHost with a fixed report or error and records
// the ports it was asked about.
type fakeHostProbe struct {
	rep   runner.IsolationReport
	err   error
	ports []int
}

func (f *fakeHostProbe) ProbeHost(_ context.Context, ports []int) (runner.IsolationReport, error) {
	f.ports = ports
	return f.rep, f.err
}

// TestCheckHostIsolation is serve's decision table at start: a host that
// a sandbox can reach is refused beyond loopback with the fix named, and
// only warned about on loopback; a probe that could not run refuses
// beyond loopback unless --accept-unverified-isolation is given.
func TestCheckHostIsolation(t *testing.T) {
	isolated := runner.IsolationReport{Tried: []string{"172.17.0.1 8080"}}
	reachable := runner.IsolationReport{Tried: []string{"172.17.0.1 8080"}, Reached: []string{"172.17.0.1:8080"}}
	noImage := errors.New("host probe: image backlab/base:bookworm is not built yet")
	tests := []struct {
		name     string
		rep      runner.IsolationReport
		probeErr error
		beyond   bool
		accept   bool
		wantErr  []string // empty: no error
		wantWarn []string // empty: no warning
	}{
		{name: "isolated, loopback", rep: isolated},
		{name: "isolated, beyond", rep: isolated, beyond: true},
		{name: "reachable, loopback", rep: reachable, wantWarn: []string{"172.17.0.1:8080", "sudo bash scripts/engine.sh", "ip6tables"}},
		{name: "reachable, beyond", rep: reachable, beyond: true, wantErr: []string{"172.17.0.1:8080", "sudo bash scripts/engine.sh", "iptables -I INPUT -i blk-+", "ip6tables -I INPUT -i blk-+"}},
		{name: "reachable, beyond, accepting unverified", rep: reachable, beyond: true, accept: true, wantErr: []string{"sudo bash scripts/engine.sh"}},
		{name: "unverified, loopback", probeErr: noImage, wantWarn: []string{"not built yet", "could not verify"}},
		{name: "unverified, beyond", probeErr: noImage, beyond: true, wantErr: []string{"not built yet", "could not verify", "--accept-unverified-isolation", "backlab images build"}},
		{name: "unverified, beyond, accepted", probeErr: noImage, beyond: true, accept: true, wantWarn: []string{"not built yet", "could not verify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probe := &fakeHostProbe{rep: tt.rep, err: tt.probeErr}
			warn, err := checkHostIsolation(t.Context(), probe, []int{8080}, tt.beyond, tt.accept)
			if len(probe.ports) != 1 || probe.ports[0] != 8080 {
				t.Errorf("probe asked about ports %v, want serve's port 8080", probe.ports)
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("err = %v, want none", err)
			}
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("err = nil, want a refusal naming %q", tt.wantErr)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("err = %v\nwant it to name %q", err, s)
					}
				}
			}
			if len(tt.wantWarn) == 0 && warn != "" && err == nil {
				t.Errorf("warning %q, want none", warn)
			}
			for _, s := range tt.wantWarn {
				if !strings.Contains(warn, s) {
					t.Errorf("warning = %q\nwant it to name %q", warn, s)
				}
			}
		})
	}
}

// TestParseServeIsolationFlag: --accept-unverified-isolation is off unless
// given.
func TestParseServeIsolationFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--accept-unverified-isolation"}, true},
	} {
		c, err := parseServe(tt.args, &strings.Builder{})
		if err != nil {
			t.Fatalf("parseServe(%q): %v", tt.args, err)
		}
		if c.acceptUnverifiedIsolation != tt.want {
			t.Errorf("parseServe(%q).acceptUnverifiedIsolation = %v, want %v", tt.args, c.acceptUnverifiedIsolation, tt.want)
		}
	}
}

// TestIsolationPorts: the probe tries serve's port, and the engine's when
// it listens on TCP.
func TestIsolationPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tt := range []struct {
		engine string
		want   []int
	}{
		{"unix:///var/run/docker.sock", []int{port}},
		{"tcp://10.0.0.5:2375", []int{port, 2375}},
	} {
		if got := isolationPorts(ln, tt.engine); !slices.Equal(got, tt.want) {
			t.Errorf("isolationPorts(%s) = %v, want %v", tt.engine, got, tt.want)
		}
	}
}
