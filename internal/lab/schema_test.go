package lab

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// root is the module's root, seen from this package's folder.
const root = "../.."

// TestSchemaFileUpToDate keeps labs/lab.schema.json in step with the Go
// types it is generated from.
func TestSchemaFileUpToDate(t *testing.T) {
	want, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, SchemaFile))
	if err != nil {
		t.Fatalf("%v: run go generate ./internal/lab", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the lab types generate: run go generate ./internal/lab", SchemaFile)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("lab.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("lab.schema.json")
	if err != nil {
		t.Fatalf("the lab schema does not compile: %v", err)
	}
	return s
}

// yamlToJSON reads a YAML document as the JSON value it denotes.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("YAML without a JSON form: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestLabsMatchSchema validates every lab.yaml in labs/ and the scaffold
// template against the schema editors use.
func TestLabsMatchSchema(t *testing.T) {
	s := compileSchema(t)
	docs := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join(root, "labs", "*", FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		docs[filepath.ToSlash(rel)] = data
	}
	tmpl, _, err := ScaffoldFiles("example")
	if err != nil {
		t.Fatal(err)
	}
	docs["scaffold template"] = tmpl[FileName]
	for name, data := range docs {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(yamlToJSON(t, data)); err != nil {
				t.Errorf("%s does not match %s:\n%v", name, SchemaFile, err)
			}
		})
	}
}

// TestSchemaRejects makes sure the schema constrains what editors flag.
func TestSchemaRejects(t *testing.T) {
	s := compileSchema(t)
	tmpl, _, err := ScaffoldFiles("example")
	if err != nil {
		t.Fatal(err)
	}
	good := string(tmpl[FileName])
	tests := []struct{ name, from, to string }{
		{"unknown top field", "\nsolution: solution\n", "\nsolution: solution\nsolutions: x\n"},
		{"bad id", "\nid: example\n", "\nid: Example_Lab\n"},
		{"version 2", "\nversion: 1\n", "\nversion: 2\n"},
		{"bad difficulty", "difficulty: beginner", "difficulty: easy"},
		{"no failing step at start", "failing_at_start: [caps-limit]", "failing_at_start: []"},
		{"bad memory", "memory: 64Mi}", "memory: lots}"},
		{"bad expect", "expect: fail", "expect: maybe"},
		{"relative workdir", "workdir: /home/learner/app\n  shell", "workdir: app\n  shell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.from) {
				t.Fatalf("the template no longer holds %q; update the test", tt.from)
			}
			bad := strings.Replace(good, tt.from, tt.to, 1)
			if err := s.Validate(yamlToJSON(t, []byte(bad))); err == nil {
				t.Errorf("the schema accepts a lab.yaml with %s", tt.name)
			}
		})
	}
}

// schemaFields lists every field path of the schema, like
// services[].readiness.http.port.
func schemaFields(t *testing.T) []string {
	t.Helper()
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	defs, _ := s["$defs"].(map[string]any)
	resolve := func(n map[string]any) map[string]any {
		if ref, ok := n["$ref"].(string); ok {
			d, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			return d
		}
		return n
	}
	var paths []string
	var walk func(prefix string, n map[string]any)
	walk = func(prefix string, n map[string]any) {
		n = resolve(n)
		props, _ := n["properties"].(map[string]any)
		for name, p := range props {
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			paths = append(paths, path)
			p := resolve(p.(map[string]any))
			if items, ok := p["items"].(map[string]any); ok {
				walk(path+"[]", items)
			} else {
				walk(path, p)
			}
		}
	}
	walk("", s)
	sort.Strings(paths)
	return paths
}

// TestFormatDocCoversSchema checks docs/lab-format.md against the schema:
// every field has a row of its own (| `path` | …), and every row names a
// field that exists.
func TestFormatDocCoversSchema(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "docs", "lab-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(string(data), -1) {
		documented[m[1]] = true
	}
	fields := schemaFields(t)
	known := map[string]bool{}
	for _, f := range fields {
		known[f] = true
		if !documented[f] {
			t.Errorf("docs/lab-format.md has no row | `%s` | … for this lab.yaml field", f)
		}
	}
	for f := range documented {
		if !known[f] {
			t.Errorf("docs/lab-format.md documents `%s`, which is not a lab.yaml field", f)
		}
	}
	if len(fields) < 40 {
		t.Errorf("found only %d fields in the schema; the walk is broken", len(fields))
	}
}
