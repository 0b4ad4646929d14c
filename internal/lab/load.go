package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FileName is the name of a lab's definition inside its folder.
const FileName = "lab.yaml"

// Problem is one thing wrong with a lab definition.
type Problem struct {
	File    string // path of lab.yaml as given
	Line    int    // 1-based; 0 when unknown
	Field   string // e.g. services[1].readiness.timeout
	Message string // what is wrong and how to fix it
}

func (p Problem) String() string {
	field := p.Field
	if field == "" {
		field = "(top)"
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, field, p.Message)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, field, p.Message)
}

// Problems is every problem found in one lab; it is the error [Load]
// returns for a lab that is not valid.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates the lab in dir. A lab that is not valid yields
// [Problems] listing everything wrong, each with its line.
func Load(dir string) (*Lab, error) {
	file := filepath.Join(dir, FileName)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load lab %s: %w", dir, err)
	}
	v := &validator{file: file, dir: dir, lines: map[string]int{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Problems{v.yamlProblem(err)}
	}
	if len(root.Content) == 0 {
		return nil, Problems{{File: file, Line: 1, Message: "the file is empty; start from 'backlab lab new'"}}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, Problems{{File: file, Line: doc.Line, Message: "the file must be a mapping of fields (id: …, title: …)"}}
	}
	v.walk(doc, "", reflect.TypeOf(Lab{}))
	l := &Lab{}
	if err := doc.Decode(l); err != nil {
		v.decodeProblems(err)
		return nil, v.problems()
	}
	l.dir = dir
	v.lab(l)
	if len(v.probs) > 0 {
		return nil, v.problems()
	}
	return l, nil
}

// Dir returns the folder the lab was loaded from.
func (l *Lab) Dir() string { return l.dir }

// Path resolves a path written in lab.yaml against the lab's folder.
func (l *Lab) Path(rel string) string { return filepath.Join(l.dir, filepath.FromSlash(rel)) }

// CheckerTimeout is the checker's timeout, or the default.
func (l *Lab) CheckerTimeout() time.Duration {
	d, err := time.ParseDuration(l.Checker.Timeout)
	if err != nil || d <= 0 {
		d, _ = time.ParseDuration(DefaultCheckerTimeout)
	}
	return d
}

type validator struct {
	file  string
	dir   string
	lines map[string]int // field path → line
	probs Problems
}

func (v *validator) problems() Problems {
	sort.SliceStable(v.probs, func(i, j int) bool { return v.probs[i].Line < v.probs[j].Line })
	return v.probs
}

// line finds the line of path, or of its nearest ancestor.
func (v *validator) line(path string) int {
	for p := path; ; {
		if n, ok := v.lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return v.lines[""]
		}
		p = p[:i]
	}
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{File: v.file, Line: v.line(path), Field: path, Message: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

func (v *validator) yamlProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{File: v.file, Line: n, Message: "not valid YAML: " + m[2]}
	}
	return Problem{File: v.file, Message: "not valid YAML: " + msg}
}

func (v *validator) decodeProblems(err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			p := v.yamlProblem(errors.New(e))
			p.Message = strings.TrimPrefix(p.Message, "not valid YAML: ")
			p.Message = strings.ReplaceAll(p.Message, "!!str", "text")
			p.Message = strings.ReplaceAll(p.Message, "!!seq", "a list")
			p.Message = strings.ReplaceAll(p.Message, "!!map", "a mapping")
			v.probs = append(v.probs, p)
		}
		return
	}
	v.probs = append(v.probs, v.yamlProblem(err))
}

// walk records the line of every field and reports keys the format does
// not know.
func (v *validator) walk(n *yaml.Node, path string, t reflect.Type) {
	v.lines[path] = n.Line
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			child := join(path, k.Value)
			v.lines[child] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				v.add(child, "unknown field %q; known fields here: %s", k.Value, strings.Join(sortedKeys(fields), ", "))
				continue
			}
			v.walk(val, child, ft)
			v.lines[child] = k.Line
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			v.lines[join(path, n.Content[i].Value)] = n.Content[i].Line
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			v.walk(item, fmt.Sprintf("%s[%d]", path, i), t.Elem())
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = f.Type
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var (
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	memPattern  = regexp.MustCompile(`^([0-9]+)(Ki|Mi|Gi|K|M|G)?$`)
)

func (v *validator) name(path, kind, value string) {
	switch {
	case value == "":
		v.add(path, "%s is required", kind)
	case !namePattern.MatchString(value):
		v.add(path, "%q is not a valid %s: use lowercase letters, digits and dashes, starting with a letter or digit (at most 63)", value, kind)
	}
}

func (v *validator) required(path, value, what string) {
	if strings.TrimSpace(value) == "" {
		v.add(path, "is required: %s", what)
	}
}

// file checks that rel names an existing file (or folder when dir).
func (v *validator) exists(path, rel string, dir bool) bool {
	if rel == "" {
		return false
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(filepath.Clean(rel), "..") {
		v.add(path, "%q must be a path inside the lab folder", rel)
		return false
	}
	info, err := os.Stat(filepath.Join(v.dir, rel))
	switch {
	case err != nil:
		v.add(path, "%s does not exist in %s", rel, v.dir)
		return false
	case dir && !info.IsDir():
		v.add(path, "%s is a file; a folder is expected", rel)
		return false
	case !dir && info.IsDir():
		v.add(path, "%s is a folder; a file is expected", rel)
		return false
	}
	return true
}

func (v *validator) duration(path, value string) {
	if value == "" {
		return
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		v.add(path, "%q is not a duration; write it like 30s, 2m or 1m30s", value)
	} else if d <= 0 {
		v.add(path, "%q must be longer than zero", value)
	}
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "root" || u == "0"
}

func (v *validator) lab(l *Lab) {
	if l.Version != 1 {
		v.add("version", "must be 1 (the only lab format so far); got %d", l.Version)
	}
	v.name("id", "lab id", l.ID)
	if base := filepath.Base(filepath.Clean(v.dir)); l.ID != "" && l.ID != base {
		v.add("id", "%q must equal the lab's folder name %q", l.ID, base)
	}
	v.required("title", l.Title, "the title shown in the catalog")
	v.required("summary", l.Summary, "one or two sentences for the catalog")
	if len(l.Skills) == 0 {
		v.add("skills", "list at least one skill the lab trains")
	}
	switch l.Difficulty {
	case "beginner", "intermediate", "advanced":
	case "":
		v.add("difficulty", "is required: beginner, intermediate or advanced")
	default:
		v.add("difficulty", "%q is not one of beginner, intermediate, advanced", l.Difficulty)
	}
	if l.EstimatedMinutes < 1 || l.EstimatedMinutes > 600 {
		v.add("estimated_minutes", "must be between 1 and 600 minutes; got %d", l.EstimatedMinutes)
	}
	if l.Instructions == "" {
		v.add("instructions", "is required: the Markdown file that introduces the lab")
	} else {
		v.exists("instructions", l.Instructions, false)
	}

	volumes := map[string]bool{}
	for i, vol := range l.Volumes {
		p := fmt.Sprintf("volumes[%d]", i)
		v.name(p, "volume name", vol)
		if volumes[vol] {
			v.add(p, "volume %q is declared twice", vol)
		}
		volumes[vol] = true
	}
	mounted := map[string]bool{}
	mounts := func(path string, ms []Mount, mustReadOnly bool) {
		for i, m := range ms {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case m.Volume == "":
				v.add(p+".volume", "is required: the name of a volume declared under volumes")
			case !volumes[m.Volume]:
				v.add(p+".volume", "%q is not declared under volumes (declared: %s)", m.Volume, listOrNone(l.Volumes))
			}
			mounted[m.Volume] = true
			if !strings.HasPrefix(m.Path, "/") {
				v.add(p+".path", "%q must be an absolute path in the container", m.Path)
			}
			if mustReadOnly && !m.ReadOnly {
				v.add(p+".read_only", "checker mounts must be read_only: true, so a check cannot change the learner's work")
			}
		}
	}

	if len(l.Services) == 0 {
		v.add("services", "declare at least one service (the workspace)")
	}
	services := map[string]bool{}
	for i, s := range l.Services {
		p := fmt.Sprintf("services[%d]", i)
		v.name(p+".name", "service name", s.Name)
		if services[s.Name] {
			v.add(p+".name", "service %q is declared twice", s.Name)
		}
		services[s.Name] = true
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
		mounts(p+".mounts", s.Mounts, false)
		for path := range s.Tmpfs {
			if !strings.HasPrefix(path, "/") {
				v.add(p+".tmpfs."+path, "%q must be an absolute path", path)
			}
		}
		if s.Resources.Memory != "" {
			if _, err := ParseMemory(s.Resources.Memory); err != nil {
				v.add(p+".resources.memory", "%v", err)
			}
		}
		if s.Resources.CPUs < 0 || s.Resources.CPUs > 64 {
			v.add(p+".resources.cpus", "must be more than 0 and at most 64; got %g", s.Resources.CPUs)
		}
		if s.Resources.Pids != 0 && (s.Resources.Pids < 16 || s.Resources.Pids > 32768) {
			v.add(p+".resources.pids", "must be between 16 and 32768; got %d", s.Resources.Pids)
		}
		if r := s.Readiness; r != nil {
			rp := p + ".readiness"
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
	}

	ws := l.Workspace
	switch {
	case ws.Service == "":
		v.add("workspace.service", "is required: the service that is the learner's shell")
	case !services[ws.Service]:
		v.add("workspace.service", "%q is not a declared service (declared: %s)", ws.Service, serviceNames(l))
	}
	if !strings.HasPrefix(ws.WorkDir, "/") {
		v.add("workspace.workdir", "is required and must be an absolute path (where the shell starts and solutions are applied)")
	}
	if isRoot(ws.User) {
		v.add("workspace.user", "the learner's shell never runs as root")
	}

	steps := map[string]bool{}
	c := l.Checker
	if len(c.Steps) == 0 {
		v.add("checker.steps", "declare every step the checker reports, in order")
	}
	for i, s := range c.Steps {
		p := fmt.Sprintf("checker.steps[%d]", i)
		v.name(p+".id", "step id", s.ID)
		if steps[s.ID] {
			v.add(p+".id", "step %q is declared twice", s.ID)
		}
		steps[s.ID] = true
		v.required(p+".title", s.Title, "what the step proves, shown to the learner")
	}
	stepRefs := func(path string, ids []string) {
		for i, id := range ids {
			if !steps[id] {
				v.add(fmt.Sprintf("%s[%d]", path, i), "%q is not a step declared under checker.steps (declared: %s)", id, stepNames(l))
			}
		}
	}
	if c.Build == "" {
		v.add("checker.build", "is required: the folder of the checker's Go main package")
	} else if v.exists("checker.build", c.Build, true) {
		if !hasMainPackage(filepath.Join(v.dir, c.Build)) {
			v.add("checker.build", "%s holds no Go main package (a .go file with 'package main')", c.Build)
		}
	}
	v.duration("checker.timeout", c.Timeout)
	for i, svc := range c.Restart {
		if !services[svc] {
			v.add(fmt.Sprintf("checker.restart[%d]", i), "%q is not a declared service (declared: %s)", svc, serviceNames(l))
		}
	}
	mounts("checker.mounts", c.Mounts, true)
	for i, vol := range l.Volumes {
		if !mounted[vol] {
			v.add(fmt.Sprintf("volumes[%d]", i), "volume %q is never mounted; mount it in a service or remove it", vol)
		}
	}

	if len(l.Tasks) == 0 {
		v.add("tasks", "declare at least one task")
	}
	tasks := map[string]bool{}
	for i, t := range l.Tasks {
		p := fmt.Sprintf("tasks[%d]", i)
		v.name(p+".id", "task id", t.ID)
		if tasks[t.ID] {
			v.add(p+".id", "task %q is declared twice", t.ID)
		}
		tasks[t.ID] = true
		v.required(p+".title", t.Title, "the task's title")
		if t.Instructions == "" {
			v.add(p+".instructions", "is required: the task's Markdown file")
		} else {
			v.exists(p+".instructions", t.Instructions, false)
		}
		for j, h := range t.Hints {
			if strings.TrimSpace(h) == "" {
				v.add(fmt.Sprintf("%s.hints[%d]", p, j), "is empty")
			}
		}
		stepRefs(p+".steps", t.Steps)
	}

	if len(l.FailingAtStart) == 0 {
		v.add("failing_at_start", "list the checker steps the starter fails (a lab whose starter passes teaches nothing)")
	}
	stepRefs("failing_at_start", l.FailingAtStart)
	solution := func(path, dir string) {
		if dir == "" {
			v.add(path, "is required: a folder with files/ and/or apply.sh")
			return
		}
		if !v.exists(path, dir, true) {
			return
		}
		_, errFiles := os.Stat(filepath.Join(v.dir, dir, "files"))
		_, errScript := os.Stat(filepath.Join(v.dir, dir, "apply.sh"))
		if errFiles != nil && errScript != nil {
			v.add(path, "%s holds neither files/ (copied onto the workspace) nor apply.sh (run in it)", dir)
		}
	}
	solution("solution", l.Solution)
	for i, va := range l.Variants {
		p := fmt.Sprintf("variants[%d]", i)
		solution(p+".dir", va.Dir)
		switch va.Expect {
		case "pass":
			if len(va.Failing) > 0 {
				v.add(p+".failing", "a variant expected to pass has no failing steps")
			}
		case "fail":
		default:
			v.add(p+".expect", "%q must be pass or fail", va.Expect)
		}
		stepRefs(p+".failing", va.Failing)
	}
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func serviceNames(l *Lab) string {
	var ns []string
	for _, s := range l.Services {
		ns = append(ns, s.Name)
	}
	return listOrNone(ns)
}

func stepNames(l *Lab) string {
	var ns []string
	for _, s := range l.Checker.Steps {
		ns = append(ns, s.ID)
	}
	return listOrNone(ns)
}

func hasMainPackage(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err == nil && regexp.MustCompile(`(?m)^package main\b`).Match(data) {
			return true
		}
	}
	return false
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
