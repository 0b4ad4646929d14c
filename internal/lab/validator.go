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

// validator collects the problems of one lab.yaml. Its section methods
// (validate*.go) each check one part of the file and fill the sets later
// sections refer to.
type validator struct {
	file  string
	dir   string
	lines map[string]int // field path → line
	probs Problems

	volumes  map[string]bool // declared under volumes
	mounted  map[string]bool // mounted by a service or the checker
	services map[string]bool // declared service names
	steps    map[string]bool // declared checker step ids
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

// exists checks that rel names an existing file (or folder when dir).
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
