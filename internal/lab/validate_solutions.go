package lab

import (
	"fmt"
	"os"
	"path/filepath"
)

// solutions checks failing_at_start, the reference solution, the starter
// and the variants: everything `backlab lab test` runs.
func (v *validator) solutions(l *Lab) {
	if len(l.FailingAtStart) == 0 {
		v.add("failing_at_start", "list the checker steps the starter fails (a lab whose starter passes teaches nothing)")
	}
	v.stepRefs(l, "failing_at_start", l.FailingAtStart)
	if l.Solution == "" {
		v.add("solution", "is required: a folder with files/ and/or apply.sh")
	} else if v.exists("solution", l.Solution, true) {
		_, errFiles := os.Stat(filepath.Join(v.dir, l.Solution, "files"))
		_, errScript := os.Stat(filepath.Join(v.dir, l.Solution, ScriptFile))
		if errFiles != nil && errScript != nil {
			v.add("solution", "%s holds neither files/ (copied onto the workspace) nor %s (run in it)", l.Solution, ScriptFile)
		}
	}
	if l.Starter != "" {
		v.exists("starter", l.Starter, true)
	} else if len(l.Variants) > 0 {
		v.add("starter", "is required with variants: the folder whose files the workspace holds at start (e.g. images/app/src), which variants' patches apply to")
	}
	for i, va := range l.Variants {
		v.variant(l, fmt.Sprintf("variants[%d]", i), va)
	}
}

// variant checks one variant's declaration, found at path p. Whether its
// patch still applies is [Lab.CheckVariants]' job, as that reads the
// starter's files.
func (v *validator) variant(l *Lab, p string, va Variant) {
	if va.Dir == "" {
		v.add(p+".dir", "is required: a folder with %s and/or %s", PatchFile, ScriptFile)
	} else {
		v.exists(p+".dir", va.Dir, true)
	}
	switch va.Base {
	case BaseStarter:
	case BaseSolution:
		if _, err := os.Stat(filepath.Join(v.dir, l.Solution, ScriptFile)); err == nil {
			v.add(p+".base", "the reference solution runs an %s, whose result only the sandbox knows, so it cannot be a patch's base; use base: starter", ScriptFile)
		}
	case "":
		v.add(p+".base", "is required: %s or %s, what the variant's %s applies to", BaseStarter, BaseSolution, PatchFile)
	default:
		v.add(p+".base", "%q must be %s or %s", va.Base, BaseStarter, BaseSolution)
	}
	switch va.Expect {
	case "pass":
		if len(va.Failing) > 0 {
			v.add(p+".failing", "a variant expected to pass has no failing steps")
		}
	case "fail":
	default:
		v.add(p+".expect", "%q must be pass or fail", va.Expect)
	}
	v.stepRefs(l, p+".failing", va.Failing)
}
