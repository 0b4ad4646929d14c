package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// volumeList checks the volumes section and records the declared names.
func (v *validator) volumeList(l *Lab) {
	v.volumes, v.mounted = map[string]bool{}, map[string]bool{}
	for i, vol := range l.Volumes {
		p := fmt.Sprintf("volumes[%d]", i)
		v.name(p, "volume name", vol)
		if v.volumes[vol] {
			v.add(p, "volume %q is declared twice", vol)
		}
		v.volumes[vol] = true
	}
}

// mounts checks the mounts of a service or of the checker (which must be
// read-only) and records the volumes they mount.
func (v *validator) mounts(l *Lab, path string, ms []Mount, mustReadOnly bool) {
	for i, m := range ms {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case m.Volume == "":
			v.add(p+".volume", "is required: the name of a volume declared under volumes")
		case !v.volumes[m.Volume]:
			v.add(p+".volume", "%q is not declared under volumes (declared: %s)", m.Volume, listOrNone(l.Volumes))
		}
		v.mounted[m.Volume] = true
		if !strings.HasPrefix(m.Path, "/") {
			v.add(p+".path", "%q must be an absolute path in the container", m.Path)
		}
		if mustReadOnly && !m.ReadOnly {
			v.add(p+".read_only", "checker mounts must be read_only: true, so a check cannot change the learner's work")
		}
	}
}

// unmountedVolumes reports volumes that neither a service nor the checker
// mounts (run after both are checked).
func (v *validator) unmountedVolumes(l *Lab) {
	for i, vol := range l.Volumes {
		if !v.mounted[vol] {
			v.add(fmt.Sprintf("volumes[%d]", i), "volume %q is never mounted; mount it in a service or remove it", vol)
		}
	}
}

// serviceList checks the services section and records the declared names.
func (v *validator) serviceList(l *Lab) {
	if len(l.Services) == 0 {
		v.add("services", "declare at least one service (the workspace)")
	}
	v.services = map[string]bool{}
	for i, s := range l.Services {
		p := fmt.Sprintf("services[%d]", i)
		v.name(p+".name", "service name", s.Name)
		if v.services[s.Name] {
			v.add(p+".name", "service %q is declared twice", s.Name)
		}
		v.services[s.Name] = true
		v.service(l, p, s)
	}
}

// service checks one service, found at path p.
func (v *validator) service(l *Lab, p string, s Service) {
	switch {
	case s.Image == "" && s.Build == "":
		v.add(p, "set either image (a ready image) or build (a folder with a Dockerfile)")
	case s.Image != "" && s.Build != "":
		v.add(p+".build", "set either image or build, not both")
	case s.Build != "":
		if v.exists(p+".build", s.Build, true) {
			if _, err := os.Stat(filepath.Join(v.dir, s.Build, "Dockerfile")); err != nil {
				v.add(p+".build", "%s holds no Dockerfile", s.Build)
			}
		}
	}
	for j, tool := range s.Tools {
		switch {
		case Tools[tool] == "":
			v.add(fmt.Sprintf("%s.tools[%d]", p, j), "%q is not a backlab tool (known: %s)", tool, strings.Join(sortedKeys(Tools), ", "))
		case s.Build == "":
			v.add(fmt.Sprintf("%s.tools[%d]", p, j), "tools go into a build context: set build, not image")
		}
	}
	if isRoot(s.User) {
		v.add(p+".user", "sandboxes never run as root; use a user the image creates (e.g. learner, postgres, or 1000)")
	}
	if s.WorkDir != "" && !strings.HasPrefix(s.WorkDir, "/") {
		v.add(p+".workdir", "%q must be an absolute path", s.WorkDir)
	}
	v.mounts(l, p+".mounts", s.Mounts, false)
	for path := range s.Tmpfs {
		if !strings.HasPrefix(path, "/") {
			v.add(p+".tmpfs."+path, "%q must be an absolute path", path)
		}
	}
	v.resources(p+".resources", s.Resources)
	if s.Readiness != nil {
		v.readiness(p+".readiness", s.Readiness)
	}
}

// resources checks a service's limits, found at path p.
func (v *validator) resources(p string, r Resources) {
	if r.Memory != "" {
		if _, err := ParseMemory(r.Memory); err != nil {
			v.add(p+".memory", "%v", err)
		}
	}
	if r.CPUs < 0 || r.CPUs > 64 {
		v.add(p+".cpus", "must be more than 0 and at most 64; got %g", r.CPUs)
	}
	if r.Pids != 0 && (r.Pids < 16 || r.Pids > 32768) {
		v.add(p+".pids", "must be between 16 and 32768; got %d", r.Pids)
	}
}

// readiness checks a service's readiness probe, found at path rp.
func (v *validator) readiness(rp string, r *Readiness) {
	kinds := 0
	if r.TCP != 0 {
		kinds++
		if r.TCP < 0 || r.TCP > 65535 {
			v.add(rp+".tcp", "%d is not a port", r.TCP)
		}
	}
	if r.HTTP != nil {
		kinds++
		if r.HTTP.Port <= 0 || r.HTTP.Port > 65535 {
			v.add(rp+".http.port", "is required: the port to GET")
		}
		if r.HTTP.Path != "" && !strings.HasPrefix(r.HTTP.Path, "/") {
			v.add(rp+".http.path", "%q must start with /", r.HTTP.Path)
		}
	}
	if len(r.Exec) > 0 {
		kinds++
	}
	if kinds != 1 {
		v.add(rp, "set exactly one of tcp, http and exec (found %d)", kinds)
	}
	v.duration(rp+".timeout", r.Timeout)
}

// workspace checks where the learner's shell runs.
func (v *validator) workspace(l *Lab) {
	ws := l.Workspace
	switch {
	case ws.Service == "":
		v.add("workspace.service", "is required: the service that is the learner's shell")
	case !v.services[ws.Service]:
		v.add("workspace.service", "%q is not a declared service (declared: %s)", ws.Service, serviceNames(l))
	}
	if !strings.HasPrefix(ws.WorkDir, "/") {
		v.add("workspace.workdir", "is required and must be an absolute path (where the shell starts and solutions are applied)")
	}
	if isRoot(ws.User) {
		v.add("workspace.user", "the learner's shell never runs as root")
	}
}

// ParseMemory parses a memory size like 256Mi, 1Gi, 300M or 1048576.
func ParseMemory(s string) (int64, error) {
	m := memPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a memory size; write it like 256Mi, 1Gi or 300M", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	mult := map[string]int64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}[m[2]]
	if n*mult < 16<<20 {
		return 0, fmt.Errorf("%q is less than the 16Mi a container needs", s)
	}
	return n * mult, nil
}
