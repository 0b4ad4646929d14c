package labrun

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/lab/filetree"
	"github.com/backlab/backlab/runner"
)

// folderSandbox is a sandbox whose workspace is a folder on the host: Exec
// runs commands there and CopyTo unpacks into it. Other methods are not
// implemented.
type folderSandbox struct {
	runner.Sandbox
	workdir, root string // the workspace's workdir in the lab, and where it lives here
}

func (f *folderSandbox) dir(d string) string {
	return filepath.Join(f.root, strings.TrimPrefix(d, f.workdir))
}

func (f *folderSandbox) Exec(ctx context.Context, _ string, opts runner.ExecOptions) (runner.ExecResult, error) {
	cmd := exec.CommandContext(ctx, opts.Cmd[0], opts.Cmd[1:]...)
	cmd.Dir = f.dir(opts.WorkDir)
	cmd.Stdin = opts.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return runner.ExecResult{ExitCode: exit.ExitCode(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
	}
	return runner.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, err
}

func (f *folderSandbox) CopyTo(_ context.Context, _, dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(f.dir(dir), filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, os.FileMode(hdr.Mode)&0o777); err != nil {
			return err
		}
	}
}

// variantLab writes a lab whose starter and solution are small trees, and
// a variant of it with the given base, patch target and script.
func variantLab(t *testing.T, base string, target func(filetree.Tree), script string) (*lab.Lab, lab.Variant) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	files := filetree.Tree{
		"lab.yaml": {Data: []byte(`version: 1
id: demo
title: Demo
summary: A demo.
skills: [testing]
difficulty: beginner
estimated_minutes: 5
instructions: instructions.md
services:
  - {name: workspace, image: busybox}
workspace: {service: workspace, workdir: /home/learner/app}
tasks:
  - {id: fix, title: Fix, instructions: instructions.md}
checker:
  build: checker
  steps:
    - {id: fixed, title: Fixed}
starter: starter
solution: solution
failing_at_start: [fixed]
variants:
  - {dir: variants/v, base: ` + base + `, expect: fail}
`)},
		"instructions.md":         {Data: []byte("# Demo\n")},
		"checker/main.go":         {Data: []byte("package main\n\nfunc main() {}\n")},
		"starter/app.conf":        {Data: []byte("MAX=1000\n")},
		"starter/lib/util.go":     {Data: []byte("package lib\n")},
		"starter/bin/run":         {Data: []byte("#!/bin/sh\n"), Exec: true},
		"solution/files/app.conf": {Data: []byte("MAX=100\n")},
		"solution/files/NOTES":    {Data: []byte("capped\n")},
		"variants/v/.keep":        {},
	}
	if err := files.Write(dir); err != nil {
		t.Fatal(err)
	}
	l, err := lab.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := l.Variants[0]
	from, err := l.BaseTree(v.Base)
	if err != nil {
		t.Fatal(err)
	}
	to := from.Clone()
	target(to)
	patch, err := filetree.Diff(from, to)
	if err != nil {
		t.Fatal(err)
	}
	vdir := l.Path(v.Dir)
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vdir, lab.PatchFile), patch, 0o644); err != nil {
		t.Fatal(err)
	}
	if script != "" {
		if err := os.WriteFile(filepath.Join(vdir, lab.ScriptFile), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return l, v
}

// TestApplyVariantLeavesExactlyBasePlusPatch applies variants to a
// workspace that holds the starter and compares what it then holds with
// the variant's files.
func TestApplyVariantLeavesExactlyBasePlusPatch(t *testing.T) {
	tests := []struct {
		name   string
		base   string
		target func(filetree.Tree)
		script string
		extra  filetree.Tree // what the script adds
	}{
		{"starter: change, add, delete a folder's only file", lab.BaseStarter, func(t filetree.Tree) {
			t["app.conf"] = filetree.File{Data: []byte("MAX=10\n")}
			delete(t, "lib/util.go")
			t["migrations/001.sql"] = filetree.File{Data: []byte("SELECT 1;\n")}
		}, "", nil},
		{"solution: the solution's files are there, one of them deleted", lab.BaseSolution, func(t filetree.Tree) {
			t["app.conf"] = filetree.File{Data: []byte("MAX=10\n")}
			delete(t, "NOTES")
		}, "", nil},
		{"solution unchanged, a script on top", lab.BaseSolution, func(filetree.Tree) {},
			"echo done > marker\n", filetree.Tree{"marker": {Data: []byte("done\n")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, v := variantLab(t, tt.base, tt.target, tt.script)
			ws := t.TempDir()
			starter, err := l.StarterTree()
			if err != nil {
				t.Fatal(err)
			}
			if err := starter.Write(ws); err != nil {
				t.Fatal(err)
			}
			s := &Run{Lab: l, Sandbox: &folderSandbox{workdir: l.Workspace.WorkDir, root: ws}}
			if err := s.ApplyVariant(context.Background(), v, io.Discard); err != nil {
				t.Fatal(err)
			}
			want, err := l.VariantTree(v)
			if err != nil {
				t.Fatal(err)
			}
			want.Overlay(tt.extra)
			got, err := filetree.Read(ws)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				t.Errorf("the workspace holds %v; want %v", got.Paths(), want.Paths())
			}
			if _, ok := want["lib/util.go"]; !ok {
				if _, err := os.Stat(filepath.Join(ws, "lib")); !os.IsNotExist(err) {
					t.Errorf("the folder the variant emptied is still there (stat: %v)", err)
				}
			}
		})
	}
}
