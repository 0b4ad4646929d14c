package runnertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// The fake's commands that change or describe files: touch, mkdir, rm,
// mv, cp, chmod, chown, stat, ls, dirname, basename and mktemp.

func touchCmd(ctx context.Context, p *Proc) int {
	status := 0
	for _, n := range p.Args[1:] {
		name := p.Abs(n)
		t, rel, err := p.ctr.view.writable("touch", name)
		if err == nil {
			if _, ok := t.stat(rel); ok {
				err = t.update(rel, func(nd *node) { nd.mtime = time.Now() })
			} else {
				err = p.ctr.view.WriteFile(name, nil, p.UID, p.GID)
			}
		}
		if err != nil {
			status = p.Errorf(1, "cannot touch '%s': %s", n, errText(err))
		}
	}
	return status
}

func mkdirCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "m")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	status := 0
	for _, n := range names {
		name := p.Abs(n)
		t, rel, err := p.ctr.view.writable("mkdir", name)
		if err == nil {
			nd, exists := t.stat(rel)
			parent, parentOK := t.stat(path.Dir(rel))
			switch {
			case exists && (!hasFlag(set, 'p') || !nd.dir):
				err = pathErr("mkdir", name, fs.ErrExist)
			case !hasFlag(set, 'p') && (!parentOK || !parent.dir):
				err = pathErr("mkdir", name, fs.ErrNotExist)
			default:
				err = t.mkdirAll(rel, p.UID, p.GID)
			}
		}
		if err != nil {
			msg := errText(err)
			if strings.Contains(err.Error(), "exists") {
				msg = "File exists"
			}
			status = p.Errorf(1, "cannot create directory '%s': %s", n, msg)
		}
	}
	return status
}

func rmCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	status := 0
	for _, n := range names {
		name := p.Abs(n)
		t, rel, err := p.ctr.view.writable("remove", name)
		if err == nil {
			nd, ok := t.stat(rel)
			switch {
			case !ok:
				if hasFlag(set, 'f') {
					continue
				}
				err = pathErr("remove", name, fs.ErrNotExist)
			case nd.dir && !hasFlag(set, 'r') && !hasFlag(set, 'R'):
				err = pathErr("remove", name, errors.New("is a directory"))
			default:
				err = t.remove(rel)
			}
		}
		if err != nil {
			status = p.Errorf(1, "cannot remove '%s': %s", n, errText(err))
		}
	}
	return status
}

// copyTree copies the file or folder src of the view to dst.
func (v *view) copyTree(src, dst string) error {
	st, srel, _ := v.resolve(src)
	dt, drel, err := v.writable("copy", dst)
	if err != nil {
		return err
	}
	if n, ok := st.stat(srel); ok && !n.dir {
		data, err := st.readFile(srel)
		if err != nil {
			return err
		}
		return dt.writeFile(drel, data, n.mode, n.uid, n.gid)
	}
	sub := st.subtree(srel)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	dt.mu.Lock()
	defer dt.mu.Unlock()
	for p, n := range sub.nodes {
		cp := *n
		dt.nodes[path.Join(drel, p)] = &cp
	}
	return nil
}

func mvCmd(ctx context.Context, p *Proc) int {
	_, args, err := flags(p.Args[1:], "")
	if err != nil || len(args) != 2 {
		return p.Errorf(1, "usage: mv [-f] SOURCE DEST")
	}
	src, dst := p.Abs(args[0]), p.Abs(args[1])
	if _, err := p.ctr.view.Stat(src); err != nil {
		return p.Errorf(1, "cannot stat '%s': %s", args[0], errText(err))
	}
	if fi, err := p.ctr.view.Stat(dst); err == nil && fi.IsDir() {
		dst = path.Join(dst, path.Base(src))
	}
	if fi, err := p.ctr.view.Stat(path.Dir(dst)); err != nil || !fi.IsDir() {
		return p.Errorf(1, "cannot move '%s' to '%s': No such file or directory", args[0], args[1])
	}
	st, srel, err := p.ctr.view.writable("rename", src)
	if err == nil {
		if dt, drel, derr := p.ctr.view.writable("rename", dst); derr != nil {
			err = derr
		} else {
			_ = dt.remove(drel)
			if err = p.ctr.view.copyTree(src, dst); err == nil {
				err = st.remove(srel)
			}
		}
	}
	if err != nil {
		return p.Errorf(1, "cannot move '%s' to '%s': %s", args[0], args[1], errText(err))
	}
	return 0
}

func cpCmd(ctx context.Context, p *Proc) int {
	set, args, err := flags(p.Args[1:], "")
	if err != nil || len(args) != 2 {
		return p.Errorf(1, "usage: cp [-r] SOURCE DEST")
	}
	src, dst := p.Abs(args[0]), p.Abs(args[1])
	fi, err := p.ctr.view.Stat(src)
	if err != nil {
		return p.Errorf(1, "cannot stat '%s': %s", args[0], errText(err))
	}
	if fi.IsDir() && !hasFlag(set, 'r') && !hasFlag(set, 'R') {
		return p.Errorf(1, "-r not specified; omitting directory '%s'", args[0])
	}
	if d, err := p.ctr.view.Stat(dst); err == nil && d.IsDir() {
		dst = path.Join(dst, path.Base(src))
	}
	if err := p.ctr.view.copyTree(src, dst); err != nil {
		return p.Errorf(1, "cannot create '%s': %s", args[1], errText(err))
	}
	return 0
}

func chmodCmd(ctx context.Context, p *Proc) int {
	args := p.Args[1:]
	if len(args) < 2 {
		return p.Errorf(1, "usage: chmod MODE|--reference=FILE FILE...")
	}
	var mode fs.FileMode
	if ref, ok := strings.CutPrefix(args[0], "--reference="); ok {
		fi, err := p.Stat(ref)
		if err != nil {
			return p.Errorf(1, "failed to get attributes of '%s': %s", ref, errText(err))
		}
		mode = fi.Mode().Perm()
	} else {
		m, err := strconv.ParseUint(args[0], 8, 32)
		if err != nil {
			return p.Errorf(1, "invalid mode: '%s' (the fake knows octal modes only)", args[0])
		}
		mode = fs.FileMode(m)
	}
	status := 0
	for _, n := range args[1:] {
		t, rel, err := p.ctr.view.writable("chmod", p.Abs(n))
		if err == nil {
			err = t.update(rel, func(nd *node) { nd.mode = mode })
		}
		if err != nil {
			status = p.Errorf(1, "changing permissions of '%s': %s", n, errText(err))
		}
	}
	return status
}

// chownCmd fails unless the owner stays the same: containers run without
// capabilities, so not even root may give a file away.
func chownCmd(ctx context.Context, p *Proc) int {
	args := p.Args[1:]
	if len(args) < 2 {
		return p.Errorf(1, "usage: chown UID[:GID] FILE...")
	}
	uidText, _, _ := strings.Cut(args[0], ":")
	uid, err := strconv.Atoi(uidText)
	if err != nil {
		return p.Errorf(1, "invalid user: '%s' (the fake knows numeric ids only)", args[0])
	}
	status := 0
	for _, n := range args[1:] {
		nd, ok := p.ctr.view.node(p.Abs(n))
		switch {
		case !ok:
			status = p.Errorf(1, "cannot access '%s': No such file or directory", n)
		case nd.uid != uid:
			status = p.Errorf(1, "changing ownership of '%s': Operation not permitted", n)
		}
	}
	return status
}

// statCmd is stat -c FORMAT FILE... with %u %g %s %a %n %F.
func statCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "c")
	format, ok := set['c']
	if err != nil || !ok {
		return p.Errorf(1, "usage: stat -c FORMAT FILE...")
	}
	status := 0
	for _, n := range names {
		nd, ok := p.ctr.view.node(p.Abs(n))
		if !ok {
			status = p.Errorf(1, "cannot statx '%s': No such file or directory", n)
			continue
		}
		kind := "regular file"
		if nd.dir {
			kind = "directory"
		}
		r := strings.NewReplacer("%u", strconv.Itoa(nd.uid), "%g", strconv.Itoa(nd.gid),
			"%s", strconv.Itoa(len(nd.data)), "%a", strconv.FormatUint(uint64(nd.mode.Perm()), 8),
			"%n", n, "%F", kind, "%%", "%")
		fmt.Fprintln(p.Stdout, r.Replace(format))
	}
	return status
}

// lsCmd is ls [-l] [-a] [FILE...].
func lsCmd(ctx context.Context, p *Proc) int {
	set, names, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	if len(names) == 0 {
		names = []string{"."}
	}
	long := hasFlag(set, 'l')
	line := func(name string, fi fs.FileInfo) {
		if !long {
			fmt.Fprintln(p.Stdout, name)
			return
		}
		nd, _ := p.ctr.view.node(p.Abs(name))
		fmt.Fprintf(p.Stdout, "%s 1 %s %s %d %s %s\n", fi.Mode().String(), p.ctr.userName(nd.uid), p.ctr.userName(nd.gid),
			fi.Size(), fi.ModTime().Format("Jan _2 15:04"), name)
	}
	status := 0
	for _, n := range names {
		fi, err := p.Stat(n)
		if err != nil {
			status = p.Errorf(2, "cannot access '%s': %s", n, errText(err))
			continue
		}
		if !fi.IsDir() {
			line(n, fi)
			continue
		}
		entries, _ := p.ctr.view.List(p.Abs(n))
		for _, e := range entries {
			if strings.HasPrefix(e, ".") && !hasFlag(set, 'a') {
				continue
			}
			if efi, err := p.Stat(path.Join(n, e)); err == nil {
				if long {
					line(path.Join(n, e), efi)
				} else {
					line(e, efi)
				}
			}
		}
	}
	return status
}

func dirnameCmd(ctx context.Context, p *Proc) int {
	_, args, _ := flags(p.Args[1:], "")
	for _, a := range args {
		fmt.Fprintln(p.Stdout, path.Dir(strings.TrimSuffix(a, "/")))
	}
	return 0
}

func basenameCmd(ctx context.Context, p *Proc) int {
	_, args, _ := flags(p.Args[1:], "")
	if len(args) == 0 {
		return p.Errorf(1, "missing operand")
	}
	b := path.Base(args[0])
	if len(args) > 1 {
		b = strings.TrimSuffix(b, args[1])
	}
	fmt.Fprintln(p.Stdout, b)
	return 0
}

// mktempCmd is mktemp [-d] [TEMPLATE]: the template's trailing Xs become
// random letters; the file (or folder) is made and its path printed.
func mktempCmd(ctx context.Context, p *Proc) int {
	set, args, err := flags(p.Args[1:], "")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	tmpl := "/tmp/tmp.XXXXXXXXXX"
	if len(args) > 0 {
		tmpl = args[0]
	}
	stem := strings.TrimRight(tmpl, "X")
	if len(tmpl)-len(stem) < 3 {
		return p.Errorf(1, "too few X's in template '%s'", tmpl)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	name := stem + hex.EncodeToString(b[:])[:len(tmpl)-len(stem)]
	abs := p.Abs(name)
	t, rel, err := p.ctr.view.writable("mktemp", abs)
	if err == nil {
		if parent, ok := t.stat(path.Dir(rel)); !ok || !parent.dir {
			err = pathErr("mktemp", abs, fs.ErrNotExist)
		} else if hasFlag(set, 'd') {
			err = t.mkdirAll(rel, p.UID, p.GID)
		} else {
			err = t.writeFile(rel, nil, 0o600, p.UID, p.GID)
		}
	}
	if err != nil {
		return p.Errorf(1, "failed to create file via template '%s': %s", tmpl, errText(err))
	}
	fmt.Fprintln(p.Stdout, name)
	return 0
}
