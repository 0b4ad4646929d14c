package lab

import "path/filepath"

// lab checks a decoded lab.yaml, one section of the file at a time.
func (v *validator) lab(l *Lab) {
	v.metadata(l)
	v.volumeList(l)
	v.serviceList(l)
	v.workspace(l)
	v.checker(l)
	v.unmountedVolumes(l)
	v.tasks(l)
	v.solutions(l)
}

// metadata checks the fields the catalog shows.
func (v *validator) metadata(l *Lab) {
	if l.Version != 1 {
		v.add("version", "must be 1 (the only lab format so far); got %d", l.Version)
	}
	v.name("id", "lab id", l.ID)
	if base := filepath.Base(filepath.Clean(v.dir)); l.ID != "" && l.ID != base {
		v.add("id", "%q must equal the lab's folder name %q", l.ID, base)
	}
	v.required("title", l.Title, "the title shown in the catalog")
	v.required("summary", l.Summary, "one or two sentences for the catalog")
	if len(l.Skills) == 0 {
		v.add("skills", "list at least one skill the lab trains")
	}
	switch l.Difficulty {
	case "beginner", "intermediate", "advanced":
	case "":
		v.add("difficulty", "is required: beginner, intermediate or advanced")
	default:
		v.add("difficulty", "%q is not one of beginner, intermediate, advanced", l.Difficulty)
	}
	if l.EstimatedMinutes < 1 || l.EstimatedMinutes > 600 {
		v.add("estimated_minutes", "must be between 1 and 600 minutes; got %d", l.EstimatedMinutes)
	}
	if l.Instructions == "" {
		v.add("instructions", "is required: the Markdown file that introduces the lab")
	} else {
		v.exists("instructions", l.Instructions, false)
	}

}
