package runner_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/backlab/backlab/"

// enginePrefixes are the import paths of container engines' client code:
// Docker's, containerd's, testcontainers' and Kubernetes'.
var enginePrefixes = []string{
	"github.com/moby/",
	"github.com/docker/",
	"github.com/containerd/",
	"github.com/testcontainers/",
	"k8s.io/",
}

func isEngine(pkg string) bool {
	for _, p := range enginePrefixes {
		if strings.HasPrefix(pkg, p) {
			return true
		}
	}
	return false
}

// TestDomainImportsNoEngine keeps container engines out of the domain: the
// non-test packages that say what a lab, a session and the web are must
// not link an engine's client, only a driver (runner/docker) does. The
// driver is in the table too, as proof that the check sees an engine where
// there is one.
//
// By hand: go list -deps ./web | grep -E 'moby|docker|containerd|testcontainers|k8s.io'
func TestDomainImportsNoEngine(t *testing.T) {
	tests := []struct {
		pkg        string
		wantEngine bool
	}{
		{"runner", false},
		{"internal/labrun", false},
		{"internal/session", false},
		{"web", false},
		{"runner/docker", true},
	}
	roots := make([]string, len(tests))
	for i, tt := range tests {
		roots[i] = module + tt.pkg
	}
	imports := importGraph(t, roots)
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			chains := engineChains(imports, module+tt.pkg)
			if tt.wantEngine {
				if len(chains) == 0 {
					t.Errorf("%s links no engine package; the check cannot see engines (want it to find the Docker client)", tt.pkg)
				}
				return
			}
			for _, chain := range chains {
				t.Errorf("%s links engine package %s: %s", tt.pkg, chain[len(chain)-1], strings.Join(shorten(chain), " -> "))
			}
		})
	}
}

// importGraph runs go list -deps on roots (without tests) and returns each
// listed package's imports.
func importGraph(t *testing.T, roots []string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, roots...)
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, stderr.String())
	}
	imports := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 {
			imports[fields[0]] = fields[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read go list output: %v", err)
	}
	for _, r := range roots {
		if _, ok := imports[r]; !ok {
			t.Fatalf("go list -deps did not list %s", r)
		}
	}
	return imports
}

// engineChains returns, for every engine package root reaches first
// (without going through another engine package), the shortest import
// chain from root to it.
func engineChains(imports map[string][]string, root string) [][]string {
	parent := map[string]string{root: ""}
	queue := []string{root}
	var chains [][]string
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if isEngine(pkg) {
			chain := []string{pkg}
			for p := parent[pkg]; p != ""; p = parent[p] {
				chain = append([]string{p}, chain...)
			}
			chains = append(chains, chain)
			continue
		}
		for _, dep := range imports[pkg] {
			if _, seen := parent[dep]; !seen {
				parent[dep] = pkg
				queue = append(queue, dep)
			}
		}
	}
	return chains
}

// shorten drops the module path from backlab's own packages.
func shorten(chain []string) []string {
	out := make([]string, len(chain))
	for i, p := range chain {
		out[i] = strings.TrimPrefix(p, module)
	}
	return out
}
