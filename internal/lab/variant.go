package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/backlab/backlab/internal/lab/filetree"
)

const (
	// PatchFile is a variant's patch inside its folder: a git-style
	// unified diff against the variant's base, written by
	// `backlab lab variant save`.
	PatchFile = "patch.diff"
	// ScriptFile is the script of a solution or variant, run with bash in
	// the workspace's workdir as the workspace user after its files are in
	// place.
	ScriptFile = "apply.sh"

	// BaseStarter bases a variant on the starter folder.
	BaseStarter = "starter"
	// BaseSolution bases a variant on the starter with the reference
	// solution's files/ copied on it.
	BaseSolution = "solution"
)

// StarterTree reads the starter folder: the files the workspace holds at
// start.
func (l *Lab) StarterTree() (filetree.Tree, error) {
	if l.Starter == "" {
		return nil, errors.New("lab.yaml names no starter folder")
	}
	return filetree.Read(l.Path(l.Starter))
}

// BaseTree returns the files a variant of the given base starts from: the
// starter, or for BaseSolution the starter with the reference solution's
// files/ copied on it (as `lab test` does to the workspace).
func (l *Lab) BaseTree(base string) (filetree.Tree, error) {
	t, err := l.StarterTree()
	if err != nil {
		return nil, err
	}
	switch base {
	case BaseStarter:
		return t, nil
	case BaseSolution:
		files := filepath.Join(l.Path(l.Solution), "files")
		if _, err := os.Stat(files); errors.Is(err, fs.ErrNotExist) {
			return t, nil
		}
		sol, err := filetree.Read(files)
		if err != nil {
			return nil, err
		}
		t.Overlay(sol)
		return t, nil
	}
	return nil, fmt.Errorf("unknown base %q: use %s or %s", base, BaseStarter, BaseSolution)
}

// VariantTree returns the files of v: its base with its patch applied, or
// the base alone when it has no patch. Its script, if any, runs on top of
// these in the sandbox.
func (l *Lab) VariantTree(v Variant) (filetree.Tree, error) {
	base, err := l.BaseTree(v.Base)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(l.Path(v.Dir), PatchFile)
	patch, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return base, nil
	}
	if err != nil {
		return nil, err
	}
	t, err := filetree.Apply(base, patch)
	if err != nil {
		return nil, fmt.Errorf("%s no longer applies to the %s: %w", file, v.Base, err)
	}
	return t, nil
}

// CheckVariants reads every variant's folder and applies its patch to its
// base, and reports each variant that is not in the format (a patch and/or
// a script) or whose patch does not apply. Unlike [Load], it reads the
// starter's and solution's files, so `lab validate` and `lab test` run it.
func (l *Lab) CheckVariants() Problems {
	var ps Problems
	file := filepath.Join(l.dir, FileName)
	for i, v := range l.Variants {
		field := fmt.Sprintf("variants[%d].dir", i)
		add := func(format string, args ...any) {
			ps = append(ps, Problem{File: file, Field: field, Message: fmt.Sprintf(format, args...)})
		}
		dir := l.Path(v.Dir)
		if _, err := os.Stat(filepath.Join(dir, "files")); err == nil {
			add("%s holds files/, the old format of variants: a variant is now %s, a patch against its base that 'backlab lab variant save' writes, and/or %s", v.Dir, PatchFile, ScriptFile)
			continue
		}
		_, errPatch := os.Stat(filepath.Join(dir, PatchFile))
		_, errScript := os.Stat(filepath.Join(dir, ScriptFile))
		if errPatch != nil && errScript != nil {
			add("%s holds neither %s (a patch against its base) nor %s (run in the workspace)", v.Dir, PatchFile, ScriptFile)
			continue
		}
		if _, err := l.VariantTree(v); err != nil {
			add("%v; fix that hunk in the patch, or redo the variant from its base ('backlab lab variant checkout --fresh', then 'save')", err)
		}
	}
	return ps
}
