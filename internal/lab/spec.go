package lab

import (
	"time"

	"github.com/backlab/backlab/runner"
)

// SandboxSpec turns the lab into what a driver starts. image names the
// image of each service (for build services, the one built for it).
func (l *Lab) SandboxSpec(sessionID, instance string, image func(Service) string) runner.SandboxSpec {
	spec := runner.SandboxSpec{SessionID: sessionID, LabID: l.ID, Instance: instance, Volumes: l.Volumes}
	for _, s := range l.Services {
		svc := runner.ServiceSpec{
			Name: s.Name, Image: image(s), Command: s.Command, Env: s.Env, User: s.User,
			WorkDir: s.WorkDir, Tmpfs: s.Tmpfs, CapAdd: s.CapAdd, Limits: s.Resources.Limits(),
			Readiness: s.Readiness.Probe(),
		}
		for _, m := range s.Mounts {
			svc.Mounts = append(svc.Mounts, runner.Mount{Volume: m.Volume, Path: m.Path, ReadOnly: m.ReadOnly})
		}
		spec.Services = append(spec.Services, svc)
	}
	return spec
}

// Limits converts validated resources; zero fields take the runner's
// defaults.
func (r Resources) Limits() runner.Limits {
	var l runner.Limits
	if r.Memory != "" {
		l.MemoryBytes, _ = ParseMemory(r.Memory)
	}
	l.NanoCPUs = int64(r.CPUs * 1e9)
	l.Pids = r.Pids
	return l.WithDefaults()
}

// Probe converts a validated readiness probe; nil stays nil.
func (r *Readiness) Probe() *runner.Probe {
	if r == nil {
		return nil
	}
	p := &runner.Probe{}
	p.Timeout, _ = time.ParseDuration(r.Timeout)
	switch {
	case r.TCP != 0:
		p.Kind, p.Port = runner.ProbeTCP, r.TCP
	case r.HTTP != nil:
		p.Kind, p.Port, p.Path = runner.ProbeHTTP, r.HTTP.Port, r.HTTP.Path
		if p.Path == "" {
			p.Path = "/"
		}
	default:
		p.Kind, p.Command = runner.ProbeExec, r.Exec
	}
	return p
}
