package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
