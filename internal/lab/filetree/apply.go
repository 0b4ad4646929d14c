package filetree

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// Apply returns base changed by patch, a git-style unified diff as [Diff]
// writes it: files it adds are created, files it changes are changed, files
// it deletes are gone. base is not modified. A patch applies exactly or
// not at all: the error of one that no longer fits names the file and the
// hunk.
func Apply(base Tree, patch []byte) (Tree, error) {
	files, _, err := gitdiff.Parse(bytes.NewReader(patch))
	if err != nil {
		return nil, fmt.Errorf("not a unified diff: %w", err)
	}
	out := base.Clone()
	for _, f := range files {
		if err := applyFile(out, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func applyFile(t Tree, f *gitdiff.File) error {
	name := f.NewName
	if f.IsDelete {
		name = f.OldName
	}
	switch {
	case f.IsRename || f.IsCopy:
		return fmt.Errorf("%s: renames and copies are not supported; write the patch with 'backlab lab variant save'", name)
	case f.IsBinary:
		return fmt.Errorf("%s: binary patches are not supported", name)
	}
	if err := checkPath(name); err != nil {
		return fmt.Errorf("%q: %w", name, err)
	}
	old, exists := t[name]
	switch {
	case f.IsNew && exists:
		return fmt.Errorf("%s: the patch creates it, but the base already has it", name)
	case !f.IsNew && !exists:
		return fmt.Errorf("%s: the patch changes or deletes it, but the base has no such file", name)
	}
	var dst bytes.Buffer
	if err := gitdiff.Apply(&dst, bytes.NewReader(old.Data), f); err != nil {
		return fmt.Errorf("%s: %s", name, describe(f, err))
	}
	if f.IsDelete {
		if dst.Len() > 0 {
			return fmt.Errorf("%s: the patch deletes it, but the base's file holds more than the patch removes", name)
		}
		delete(t, name)
		return nil
	}
	exec := old.Exec
	if f.NewMode != 0 {
		exec = f.NewMode&0o111 != 0
	}
	t[name] = File{Data: dst.Bytes(), Exec: exec}
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
