package runner

import (
	"fmt"
	"regexp"
	"time"
)

// Labels every engine resource carries, so that a restarted server can find
// what it created and reap what belongs to no live session.
const (
	LabelManaged  = "dev.backlab.managed"  // always "true"
	LabelSession  = "dev.backlab.session"  // session id
	LabelLab      = "dev.backlab.lab"      // lab id
	LabelInstance = "dev.backlab.instance" // id of the server instance that owns it
	LabelService  = "dev.backlab.service"  // service name within the sandbox
	LabelRole     = "dev.backlab.role"     // "service" or "job"
)

// SandboxSpec describes one sandbox: a private network holding a set of
// services that reach each other by name.
type SandboxSpec struct {
	// SessionID names the sandbox; it must be unique among live sandboxes
	// and match [NamePattern].
	SessionID string
	// LabID and Instance are recorded as labels.
	LabID    string
	Instance string
	// Volumes are session-scoped named volumes that services may mount. A
	// volume is filled from the image of the first service that mounts it
	// (in the order of Services), so a workspace image can seed the code
	// that an app service shares.
	Volumes []string
	// Services start in order; each one is ready before the next starts.
	Services []ServiceSpec
	// Egress allows traffic out of the sandbox network. Off by default.
	Egress bool
}

// ServiceSpec is one container of a sandbox.
type ServiceSpec struct {
	// Name is the service's host name inside the sandbox network.
	Name    string
	Image   string
	Command []string
	Env     map[string]string
	// User is "uid", "uid:gid" or a user name known to the image. Empty
	// means the image's own user, which must not be root: the driver
	// refuses to run a service as root unless AllowRoot is set.
	User      string
	AllowRoot bool
	WorkDir   string
	Mounts    []Mount
	// Tmpfs maps a path to mount options, e.g. "uid=100,gid=102,mode=2775".
	Tmpfs map[string]string
	// CapAdd lists Linux capabilities kept although all others are dropped.
	CapAdd    []string
	Limits    Limits
	Readiness *Probe
}

// Mount attaches a sandbox volume to a service.
type Mount struct {
	Volume   string
	Path     string
	ReadOnly bool
}

// Limits bound what one container may use. Zero values take the defaults
// of [DefaultLimits].
type Limits struct {
	MemoryBytes int64
	NanoCPUs    int64
	Pids        int64
}

// DefaultLimits apply to every field a spec leaves zero.
var DefaultLimits = Limits{MemoryBytes: 512 << 20, NanoCPUs: 1e9, Pids: 256}

// WithDefaults returns l with zero fields taken from [DefaultLimits].
func (l Limits) WithDefaults() Limits {
	if l.MemoryBytes == 0 {
		l.MemoryBytes = DefaultLimits.MemoryBytes
	}
	if l.NanoCPUs == 0 {
		l.NanoCPUs = DefaultLimits.NanoCPUs
	}
	if l.Pids == 0 {
		l.Pids = DefaultLimits.Pids
	}
	return l
}

// ProbeKind says how readiness is tested.
type ProbeKind string

// Probe kinds.
const (
	ProbeTCP  ProbeKind = "tcp"  // a TCP connection to Port succeeds
	ProbeHTTP ProbeKind = "http" // GET Path on Port answers with a status below 500
	ProbeExec ProbeKind = "exec" // Command exits 0 inside the service
)

// DefaultProbeTimeout bounds a readiness wait when a probe sets none.
const DefaultProbeTimeout = 60 * time.Second

// Probe tells when a service is ready.
type Probe struct {
	Kind    ProbeKind
	Port    int
	Path    string
	Command []string
	// Timeout bounds the whole wait; zero means [DefaultProbeTimeout].
	Timeout time.Duration
}

// NamePattern is what session ids, service and volume names must match.
var NamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validate reports the first problem that makes spec unusable.
func (s SandboxSpec) Validate() error {
	if !NamePattern.MatchString(s.SessionID) {
		return fmt.Errorf("session id %q: must match %s", s.SessionID, NamePattern)
	}
	if len(s.Services) == 0 {
		return fmt.Errorf("sandbox %s: no services", s.SessionID)
	}
	vols := map[string]bool{}
	for _, v := range s.Volumes {
		if !NamePattern.MatchString(v) {
			return fmt.Errorf("volume %q: must match %s", v, NamePattern)
		}
		vols[v] = true
	}
	seen := map[string]bool{}
	for _, svc := range s.Services {
		if !NamePattern.MatchString(svc.Name) {
			return fmt.Errorf("service %q: name must match %s", svc.Name, NamePattern)
		}
		if seen[svc.Name] {
			return fmt.Errorf("service %q: declared twice", svc.Name)
		}
		seen[svc.Name] = true
		if svc.Image == "" {
			return fmt.Errorf("service %s: no image", svc.Name)
		}
		for _, m := range svc.Mounts {
			if !vols[m.Volume] {
				return fmt.Errorf("service %s: mount of undeclared volume %q", svc.Name, m.Volume)
			}
		}
		if p := svc.Readiness; p != nil {
			switch p.Kind {
			case ProbeTCP, ProbeHTTP:
				if p.Port <= 0 || p.Port > 65535 {
					return fmt.Errorf("service %s: %s probe needs a port", svc.Name, p.Kind)
				}
			case ProbeExec:
				if len(p.Command) == 0 {
					return fmt.Errorf("service %s: exec probe needs a command", svc.Name)
				}
			default:
				return fmt.Errorf("service %s: unknown probe kind %q", svc.Name, p.Kind)
			}
		}
	}
	return nil
}
