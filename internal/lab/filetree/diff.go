package filetree

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
)

// Diff returns the git-style unified diff that turns from into to: one
// section per added, changed or deleted file, in path order, with three
// lines of context. Equal trees give an empty diff. Files that are not
// text (not UTF-8, or holding a NUL byte) are refused, and so are paths
// with spaces or quotes, which git would quote.
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
		for _, f := range []struct {
			in   bool
			file File
		}{{inA, a}, {inB, b}} {
			if f.in && !isText(f.file.Data) {
				return nil, fmt.Errorf("%s: not a text file; a patch holds text files only", p)
			}
		}
		fmt.Fprintf(&out, "diff --git a/%s b/%s\n", p, p)
		oldName, newName := "a/"+p, "b/"+p
		switch {
		case !inA:
			fmt.Fprintf(&out, "new file mode %s\n", mode(b))
			oldName = "/dev/null"
		case !inB:
			fmt.Fprintf(&out, "deleted file mode %s\n", mode(a))
			newName = "/dev/null"
		case a.Exec != b.Exec:
			fmt.Fprintf(&out, "old mode %s\nnew mode %s\n", mode(a), mode(b))
		}
		out.WriteString(udiff.Unified(oldName, newName, string(a.Data), string(b.Data)))
	}
	return out.Bytes(), nil
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
