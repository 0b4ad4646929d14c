package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"
)

//go:generate go run ./genschema -o ../../labs/lab.schema.json

// SchemaFile is where the JSON Schema of lab.yaml lives, relative to the
// module's root. A lab.yaml points editors at it with the first line
// "# yaml-language-server: $schema=../lab.schema.json".
const SchemaFile = "labs/lab.schema.json"

// fieldDocs describes, for editors, the fields whose jsonschema tag has no
// description (keyed "Type.Field" by Go names).
var fieldDocs = map[string]string{
	"Lab.Difficulty": "How hard the lab is for its target learner.",
	"Lab.Workspace":  "Where the learner's shell runs.",
	"Lab.Tasks":      "The lab's tasks in order: investigate, fix, prove.",
	"Lab.Checker":    "The program that verifies the learner's work.",
	"Lab.Variants":   "Other solutions and the verdict the checker must give each; 'backlab lab test' proves them.",

	"Service.Command":   "Command (and arguments) to run instead of the image's default.",
	"Service.Env":       "Environment variables of the service.",
	"Service.WorkDir":   "Working directory of the service (absolute path).",
	"Service.Mounts":    "Lab volumes mounted into the service.",
	"Service.Resources": "CPU, memory and process limits; the runner's defaults when unset.",
	"Service.Readiness": "Probe that tells when the service is ready; without one, running is ready.",

	"Mount.Volume":   "Name of a volume declared under volumes.",
	"Mount.Path":     "Absolute path in the container.",
	"Mount.ReadOnly": "Mount read-only (required for checker mounts).",

	"Readiness.HTTP": "Ready once GET path on port answers below 500.",
	"HTTPProbe.Port": "Port to GET.",

	"Task.ID":    "Task id (lowercase letters, digits, dashes).",
	"Task.Title": "Title shown to the learner.",

	"Checker.Env":   "Environment variables of the checker.",
	"Checker.Steps": "Every step the checker reports, in order.",

	"Step.ID":    "Step id the checker reports (lowercase letters, digits, dashes).",
	"Step.Title": "What the step proves, shown to the learner.",

	"Variant.Dir":     "Folder with patch.diff (a unified diff against base, written by 'backlab lab variant save') and/or apply.sh (run after it).",
	"Variant.Base":    "What patch.diff applies to: starter (the starter folder) or solution (the starter with the reference solution's files/ copied on it).",
	"Variant.Expect":  "Verdict the checker must give: pass or fail.",
	"Variant.Failing": "Steps that must fail (expect: fail); empty means at least one fails.",
	"Variant.About":   "What the variant shows, for the lab's maintainers.",
}

// Schema returns the JSON Schema (draft 2020-12) of lab.yaml, generated
// from [Lab] and its field tags, indented and ending in a newline.
func Schema() ([]byte, error) {
	r := &jsonschema.Reflector{
		Anonymous:                  true,
		ExpandedStruct:             true,
		RequiredFromJSONSchemaTags: true,
		LookupComment: func(t reflect.Type, field string) string {
			if field == "" {
				return ""
			}
			return fieldDocs[t.Name()+"."+field]
		},
	}
	s := r.Reflect(&Lab{})
	s.Title = "backlab lab.yaml (format version 1)"
	s.Description = "A hands-on lab for backlab: metadata, sandbox services, tasks, checker and reference solution. Reference: docs/lab-format.md."
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("lab schema: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return nil, fmt.Errorf("lab schema: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
