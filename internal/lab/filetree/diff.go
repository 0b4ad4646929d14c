package filetree

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
)

// Diff returns the git-style unified diff that turns from into to, one
// section per file in path order, with three lines of context. Equal
// trees give an empty diff. To show what a change is rather than repeat
// what it keeps:
//
//   - a deleted file is named, not listed line by line (as git diff
//     --irreversible-delete writes it);
//   - a new file that is mostly a file of from with the same name in
//     another folder is written as a copy of it ("copy from", "copy to")
//     followed by what differs.
//
// Files that are not text (not UTF-8, or holding a NUL byte) are refused,
// and so are paths with spaces, quotes or backslashes, which git would
// quote.
func Diff(from, to Tree) ([]byte, error) {
	all := from.Clone()
	all.Overlay(to)
	var out bytes.Buffer
	for _, p := range all.Paths() {
		a, inA := from[p]
		b, inB := to[p]
		if inA && inB && a.Exec == b.Exec && bytes.Equal(a.Data, b.Data) {
			continue
		}
		if strings.ContainsAny(p, " \t\"\\") {
			return nil, fmt.Errorf("%s: file names with spaces, quotes or backslashes cannot be part of a patch", p)
		}
		if (inA && !isText(a.Data)) || (inB && !isText(b.Data)) {
			return nil, fmt.Errorf("%s: not a text file; a patch holds text files only", p)
		}
		switch {
		case !inA:
			if src, ok := copySource(from, p, b); ok {
				fmt.Fprintf(&out, "diff --git a/%s b/%s\n", src, p)
				if from[src].Exec != b.Exec {
					fmt.Fprintf(&out, "old mode %s\nnew mode %s\n", mode(from[src]), mode(b))
				}
				fmt.Fprintf(&out, "copy from %s\ncopy to %s\n", src, p)
				out.WriteString(udiff.Unified("a/"+src, "b/"+p, string(from[src].Data), string(b.Data)))
				continue
			}
			fmt.Fprintf(&out, "diff --git a/%s b/%s\nnew file mode %s\n", p, p, mode(b))
			out.WriteString(udiff.Unified("/dev/null", "b/"+p, "", string(b.Data)))
		case !inB:
			fmt.Fprintf(&out, "diff --git a/%s b/%s\ndeleted file mode %s\n", p, p, mode(a))
		default:
			fmt.Fprintf(&out, "diff --git a/%s b/%s\n", p, p)
			if a.Exec != b.Exec {
				fmt.Fprintf(&out, "old mode %s\nnew mode %s\n", mode(a), mode(b))
			}
			out.WriteString(udiff.Unified("a/"+p, "b/"+p, string(a.Data), string(b.Data)))
		}
	}
	return out.Bytes(), nil
}

// copySource finds the text file of from that the new file f at p is best
// written as a copy of: one with the same name in another folder, whose
// diff to f changes fewer lines than half of f. It reports false when there
// is none.
func copySource(from Tree, p string, f File) (string, bool) {
	best, bestChanged := "", -1
	for _, q := range from.Paths() {
		if path.Base(q) != path.Base(p) || !isText(from[q].Data) {
			continue
		}
		changed := 0
		for _, e := range udiff.Lines(string(from[q].Data), string(f.Data)) {
			changed += strings.Count(e.New, "\n") + strings.Count(string(from[q].Data[e.Start:e.End]), "\n")
		}
		if bestChanged < 0 || changed < bestChanged {
			best, bestChanged = q, changed
		}
	}
	lines := bytes.Count(f.Data, []byte("\n"))
	return best, bestChanged >= 0 && bestChanged*2 < lines
}

func mode(f File) string {
	if f.Exec {
		return "100755"
	}
	return "100644"
}

func isText(data []byte) bool {
	return utf8.Valid(data) && bytes.IndexByte(data, 0) < 0
}
