package lab

import (
	"fmt"
	"path/filepath"
	"strings"
)

// checker checks the checker section and records the declared steps.
func (v *validator) checker(l *Lab) {
	v.steps = map[string]bool{}
	c := l.Checker
	if len(c.Steps) == 0 {
		v.add("checker.steps", "declare every step the checker reports, in order")
	}
	for i, s := range c.Steps {
		p := fmt.Sprintf("checker.steps[%d]", i)
		v.name(p+".id", "step id", s.ID)
		if v.steps[s.ID] {
			v.add(p+".id", "step %q is declared twice", s.ID)
		}
		v.steps[s.ID] = true
		v.required(p+".title", s.Title, "what the step proves, shown to the learner")
	}
	if c.Build == "" {
		v.add("checker.build", "is required: the folder of the checker's Go main package")
	} else if v.exists("checker.build", c.Build, true) {
		if !hasMainPackage(filepath.Join(v.dir, c.Build)) {
			v.add("checker.build", "%s holds no Go main package (a .go file with 'package main')", c.Build)
		}
	}
	v.duration("checker.timeout", c.Timeout)
	for i, svc := range c.Restart {
		if !v.services[svc] {
			v.add(fmt.Sprintf("checker.restart[%d]", i), "%q is not a declared service (declared: %s)", svc, serviceNames(l))
		}
	}
	v.mounts(l, "checker.mounts", c.Mounts, true)
}

// stepRefs reports ids, listed at path, that are not declared checker
// steps (run after checker).
func (v *validator) stepRefs(l *Lab, path string, ids []string) {
	for i, id := range ids {
		if !v.steps[id] {
			v.add(fmt.Sprintf("%s[%d]", path, i), "%q is not a step declared under checker.steps (declared: %s)", id, stepNames(l))
		}
	}
}

// tasks checks the tasks section.
func (v *validator) tasks(l *Lab) {
	if len(l.Tasks) == 0 {
		v.add("tasks", "declare at least one task")
	}
	tasks := map[string]bool{}
	for i, t := range l.Tasks {
		p := fmt.Sprintf("tasks[%d]", i)
		v.name(p+".id", "task id", t.ID)
		if tasks[t.ID] {
			v.add(p+".id", "task %q is declared twice", t.ID)
		}
		tasks[t.ID] = true
		v.required(p+".title", t.Title, "the task's title")
		if t.Instructions == "" {
			v.add(p+".instructions", "is required: the task's Markdown file")
		} else {
			v.exists(p+".instructions", t.Instructions, false)
		}
		for j, h := range t.Hints {
			if strings.TrimSpace(h) == "" {
				v.add(fmt.Sprintf("%s.hints[%d]", p, j), "is empty")
			}
		}
		v.stepRefs(l, p+".steps", t.Steps)
	}

}
