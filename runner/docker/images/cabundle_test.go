package images

import (
	"os"
	"testing"
)

func TestCABundle(t *testing.T) {
	host := ""
	if info, err := os.Stat(HostCABundle); err == nil && info.Size() > 0 {
		host = HostCABundle
	}
	tests := []struct {
		name, flag, env, want string
	}{
		{"flag wins", "/x.pem", "/y.pem", "/x.pem"},
		{"flag none", "none", "/y.pem", ""},
		{"env", "", "/y.pem", "/y.pem"},
		{"env none", "", "none", ""},
		{"default is the host store", "", "", host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BACKLAB_CA_BUNDLE", tt.env)
			if got := CABundle(tt.flag); got != tt.want {
				t.Errorf("CABundle(%q) with env %q = %q, want %q", tt.flag, tt.env, got, tt.want)
			}
		})
	}
}
