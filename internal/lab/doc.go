// Package lab reads and validates lab definitions: a folder holding
// lab.yaml (format version 1, described in docs/lab-format.md and by the
// JSON Schema [Schema] generates), the Markdown the learner reads, the
// images of the sandbox's services, the checker, the starter code, the
// reference solution and the variants.
//
// [Load] parses lab.yaml and reports every problem with its line
// ([Problems]); the validator checks one section of the file per method.
// [Lab.SandboxSpec] turns a lab into what a runner starts. A variant is a
// patch against the starter or the reference solution ([Lab.VariantTree],
// [Lab.CheckVariants]); package filetree diffs and applies such patches.
// [Scaffold] writes the small working lab that `backlab lab new` starts
// authors from.
package lab
