package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/lab/filetree"
)

const (
	variantCheckoutUsage = "usage: backlab lab variant checkout LAB NAME DIR [--base starter|solution] [--fresh]"
	variantSaveUsage     = "usage: backlab lab variant save LAB NAME DIR [--base starter|solution]"
)

// variantArgs parses LAB NAME DIR [--base B] and finds the variant: the one
// lab.yaml declares in variants/NAME, or a new one on the base --base names.
func variantArgs(fs *flag.FlagSet, usage string, args []string) (*lab.Lab, lab.Variant, string, bool, error) {
	base := fs.String("base", "", "what the variant's patch applies to: starter or solution (taken from lab.yaml for a declared variant; default starter)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, lab.Variant{}, "", false, err
	}
	if len(pos) != 3 {
		return nil, lab.Variant{}, "", false, errors.New(usage)
	}
	l, err := lab.Load(pos[0])
	if err != nil {
		return nil, lab.Variant{}, "", false, err
	}
	if err := lab.ValidateName(pos[1]); err != nil {
		return nil, lab.Variant{}, "", false, fmt.Errorf("variant name: %w", err)
	}
	dir := path.Join("variants", pos[1])
	for _, v := range l.Variants {
		if path.Clean(filepath.ToSlash(v.Dir)) != dir {
			continue
		}
		if *base != "" && *base != v.Base {
			return nil, lab.Variant{}, "", false, fmt.Errorf("lab.yaml declares %s with base: %s; drop --base or change lab.yaml", dir, v.Base)
		}
		return l, v, pos[2], true, nil
	}
	if *base == "" {
		*base = lab.BaseStarter
	}
	if *base != lab.BaseStarter && *base != lab.BaseSolution {
		return nil, lab.Variant{}, "", false, fmt.Errorf("--base %s: use %s or %s", *base, lab.BaseStarter, lab.BaseSolution)
	}
	return l, lab.Variant{Dir: dir, Base: *base}, pos[2], false, nil
}

// cmdLabVariantCheckout writes a variant's files (its base with its patch
// applied) into a new folder for an author to edit.
func cmdLabVariantCheckout(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab variant checkout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fresh := fs.Bool("fresh", false, "write the base alone, without the variant's patch (to redo a variant whose patch no longer applies)")
	l, v, dir, declared, err := variantArgs(fs, variantCheckoutUsage, args)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty; name a new folder", dir)
	}
	tree := l.VariantTree
	if *fresh {
		declared = false
		tree = func(v lab.Variant) (filetree.Tree, error) { return l.BaseTree(v.Base) }
	}
	t, err := tree(v)
	if err != nil {
		return err
	}
	if err := t.Write(dir); err != nil {
		return err
	}
	what := "the " + v.Base + " alone"
	if declared {
		what = "the " + v.Base + " with " + path.Join(v.Dir, lab.PatchFile) + " applied"
	}
	fmt.Fprintf(stdout, "wrote %d files to %s: %s\nedit them, then: backlab lab variant save %s %s %s --base %s\n", len(t), dir, what, l.Dir(), path.Base(v.Dir), dir, v.Base)
	return nil
}

// cmdLabVariantSave writes a variant's patch: the difference between its
// base and a folder an author edited.
func cmdLabVariantSave(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab variant save", flag.ContinueOnError)
	fs.SetOutput(stderr)
	l, v, dir, declared, err := variantArgs(fs, variantSaveUsage, args)
	if err != nil {
		return err
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%s: not a folder", dir)
	}
	base, err := l.BaseTree(v.Base)
	if err != nil {
		return err
	}
	edited, err := filetree.Read(dir)
	if err != nil {
		return err
	}
	patch, err := filetree.Diff(base, edited)
	if err != nil {
		return err
	}
	file := filepath.Join(l.Path(v.Dir), lab.PatchFile)
	if len(patch) == 0 {
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		fmt.Fprintf(stdout, "%s holds exactly the %s: %s has no patch (it needs an %s to differ)\n", dir, v.Base, v.Dir, lab.ScriptFile)
		return nil
	}
	if applied, err := filetree.Apply(base, patch); err != nil || !applied.Equal(edited) {
		return fmt.Errorf("the patch of %s does not reproduce it (%v); nothing was written", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(file, patch, 0o644); err != nil {
		return err
	}
	write, remove := filetree.Changes(base, edited)
	fmt.Fprintf(stdout, "wrote %s: against the %s, %s added or changed, %s deleted\n", file, v.Base, files(len(write)), files(len(remove)))
	if !declared {
		fmt.Fprintf(stdout, "declare it in %s:\n  - dir: %s\n    base: %s\n    expect: fail   # or pass\n    about: \"…\"\n", filepath.Join(l.Dir(), lab.FileName), v.Dir, v.Base)
	}
	return nil
}

func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}

// variantsOK reports whether every variant of l is in the format and its
// patch applies; it prints the problems of one that is not.
func variantsOK(l *lab.Lab, stderr io.Writer) bool {
	ps := l.CheckVariants()
	if len(ps) > 0 {
		fmt.Fprintln(stderr, strings.TrimSpace(ps.Error()))
	}
	return len(ps) == 0
}
