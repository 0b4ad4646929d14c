package main

import (
	"io"
	"strings"
	"testing"

	"github.com/backlab/backlab/web"
)

func TestParseServeSocketLimits(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   web.SocketLimits
		errHas string
	}{
		{"defaults", nil, web.DefaultSocketLimits, ""},
		{"given", []string{"--max-sockets-per-user", "12", "--max-sockets-per-session", "6"}, web.SocketLimits{PerUser: 12, PerSession: 6}, ""},
		{"no limit", []string{"--max-sockets-per-user", "-1"}, web.SocketLimits{PerUser: -1, PerSession: web.DefaultSocketLimits.PerSession}, ""},
		{"zero per user", []string{"--max-sockets-per-user", "0"}, web.SocketLimits{}, "--max-sockets-per-user 0: give at least 1, or -1"},
		{"negative per session", []string{"--max-sockets-per-session", "-5"}, web.SocketLimits{}, "--max-sockets-per-session -5: give at least 1, or -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, io.Discard)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errHas)
				}
				return
			}
			if err != nil || c.sockets != tt.want {
				t.Errorf("socket limits = %+v, %v; want %+v", c.sockets, err, tt.want)
			}
		})
	}
}
