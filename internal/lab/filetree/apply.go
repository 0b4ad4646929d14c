package filetree

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// Apply returns base changed by patch, a git-style unified diff as [Diff]
// writes it (or git diff, without renames): files it adds or copies are
// created, files it changes are changed, files it deletes are gone. A copy
// starts from the source's content in base. base is not modified. A patch
// applies exactly or not at all: the error of one that no longer fits
// names the file and the hunk.
func Apply(base Tree, patch []byte) (Tree, error) {
	files, _, err := gitdiff.Parse(bytes.NewReader(patch))
	if err != nil {
		return nil, fmt.Errorf("not a unified diff: %w", err)
	}
	out := base.Clone()
	for _, f := range files {
		if err := applyFile(base, out, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// applyFile applies one file's section of a patch: it reads from base and
// writes to out.
func applyFile(base, out Tree, f *gitdiff.File) error {
	name := f.NewName
	if f.IsDelete {
		name = f.OldName
	}
	switch {
	case f.IsRename:
		return fmt.Errorf("%s: renames are not supported; write the patch with 'backlab lab variant save'", name)
	case f.IsBinary:
		return fmt.Errorf("%s: binary patches are not supported", name)
	}
	for _, p := range []string{f.OldName, f.NewName} {
		if p == "" && !f.IsNew && !f.IsDelete {
			return fmt.Errorf("%s: the patch names no file", name)
		}
		if err := checkPath(p); p != "" && err != nil {
			return fmt.Errorf("%q: %w", p, err)
		}
	}
	src := name
	if f.IsCopy {
		src = f.OldName
	}
	old, exists := base[src]
	_, target := base[name]
	switch {
	case f.IsNew && target:
		return fmt.Errorf("%s: the patch creates it, but the base already has it", name)
	case f.IsCopy && target:
		return fmt.Errorf("%s: the patch copies %s to it, but the base already has it", name, src)
	case f.IsCopy && !exists:
		return fmt.Errorf("%s: the patch copies it from %s, but the base has no such file", name, src)
	case !f.IsNew && !exists:
		return fmt.Errorf("%s: the patch changes or deletes it, but the base has no such file", name)
	}
	if f.IsDelete && len(f.TextFragments) == 0 {
		delete(out, name) // written without its content (as Diff does)
		return nil
	}
	var dst bytes.Buffer
	if err := gitdiff.Apply(&dst, bytes.NewReader(old.Data), f); err != nil {
		return fmt.Errorf("%s: %s", name, describe(f, err))
	}
	if f.IsDelete {
		if dst.Len() > 0 {
			return fmt.Errorf("%s: the patch deletes it, but the base's file holds more than the patch removes", name)
		}
		delete(out, name)
		return nil
	}
	exec := old.Exec
	if f.NewMode != 0 {
		exec = f.NewMode&0o111 != 0
	}
	out[name] = File{Data: dst.Bytes(), Exec: exec}
	return nil
}

// describe says which hunk did not apply and why.
func describe(f *gitdiff.File, err error) string {
	var ae *gitdiff.ApplyError
	if errors.As(err, &ae) && ae.Fragment > 0 && ae.Fragment <= len(f.TextFragments) {
		frag := f.TextFragments[ae.Fragment-1]
		return fmt.Sprintf("hunk %d (%s) does not apply: %v", ae.Fragment, frag.Header(), err)
	}
	return fmt.Sprintf("does not apply: %v", err)
}
