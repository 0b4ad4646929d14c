package lab

// Lab is a parsed lab.yaml (format version 1). Paths in it are relative to
// the lab's folder; [Load] resolves and checks them.
type Lab struct {
	// Version of the lab format; must be 1.
	Version int `yaml:"version" json:"version" jsonschema:"required,enum=1,description=Lab format version; always 1."`
	// ID names the lab; it must equal the folder's name.
	ID         string   `yaml:"id" json:"id" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,62}$,description=Lab id; equals the folder name."`
	Title      string   `yaml:"title" json:"title" jsonschema:"required,minLength=1,description=Title shown in the catalog."`
	Summary    string   `yaml:"summary" json:"summary" jsonschema:"required,minLength=1,description=One or two sentences shown in the catalog."`
	Skills     []string `yaml:"skills" json:"skills" jsonschema:"required,minItems=1,description=Skills the lab trains."`
	Difficulty string   `yaml:"difficulty" json:"difficulty" jsonschema:"required,enum=beginner,enum=intermediate,enum=advanced"`
	// EstimatedMinutes is how long the target learner needs.
	EstimatedMinutes int `yaml:"estimated_minutes" json:"estimated_minutes" jsonschema:"required,minimum=1,maximum=600,description=Minutes the target learner needs."`
	// Instructions is the Markdown file introducing the lab.
	Instructions string `yaml:"instructions" json:"instructions" jsonschema:"required,description=Markdown file that introduces the lab."`

	Volumes   []string  `yaml:"volumes,omitempty" json:"volumes,omitempty" jsonschema:"description=Session-scoped volumes services can mount; filled from the image of the first service that mounts them."`
	Services  []Service `yaml:"services" json:"services" jsonschema:"required,minItems=1,description=Containers of the sandbox; started in order."`
	Workspace Workspace `yaml:"workspace" json:"workspace" jsonschema:"required"`
	Tasks     []Task    `yaml:"tasks" json:"tasks" jsonschema:"required,minItems=1"`
	Checker   Checker   `yaml:"checker" json:"checker" jsonschema:"required"`
	// Solution is the folder of the reference solution: files/ copied onto
	// the workspace and/or an apply.sh run in it.
	Solution string `yaml:"solution" json:"solution" jsonschema:"required,description=Folder of the reference solution: files/ overlaid on the workspace and/or an apply.sh run in it."`
	// Starter is the folder whose files the workspace's workdir holds at
	// start (the one its image copies there); variants' patches apply to
	// it. Required when there are variants.
	Starter string `yaml:"starter,omitempty" json:"starter,omitempty" jsonschema:"description=Folder whose files the workspace's workdir holds at start (e.g. images/app/src); the base of variants' patches. Required with variants."`
	// Variants are other solutions with the verdict the checker must give.
	Variants []Variant `yaml:"variants,omitempty" json:"variants,omitempty"`
	// FailingAtStart lists the checker steps the starter must fail; all
	// other steps must pass on the starter.
	FailingAtStart []string `yaml:"failing_at_start" json:"failing_at_start" jsonschema:"required,minItems=1,description=Checker steps the starter must fail; all others must pass at start."`

	// dir is the folder the lab was loaded from.
	dir string
}

// Service is one container of the sandbox.
type Service struct {
	Name string `yaml:"name" json:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,62}$,description=Host name of the service inside the sandbox."`
	// Image names a ready image; Build a folder with a Dockerfile. Exactly
	// one of them is set.
	Image   string            `yaml:"image,omitempty" json:"image,omitempty" jsonschema:"description=Image to run (exactly one of image and build)."`
	Build   string            `yaml:"build,omitempty" json:"build,omitempty" jsonschema:"description=Folder with a Dockerfile; built by 'backlab images build' (exactly one of image and build)."`
	Command []string          `yaml:"command,omitempty" json:"command,omitempty"`
	Env     map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// User overrides the image's user; root is refused.
	User      string            `yaml:"user,omitempty" json:"user,omitempty" jsonschema:"description=User to run as (name or uid[:gid]); never root."`
	WorkDir   string            `yaml:"workdir,omitempty" json:"workdir,omitempty"`
	Mounts    []Mount           `yaml:"mounts,omitempty" json:"mounts,omitempty"`
	Tmpfs     map[string]string `yaml:"tmpfs,omitempty" json:"tmpfs,omitempty" jsonschema:"description=Path to tmpfs mount options (e.g. uid=100\\,gid=102\\,mode=2775)."`
	CapAdd    []string          `yaml:"cap_add,omitempty" json:"cap_add,omitempty" jsonschema:"description=Capabilities kept although all others are dropped."`
	Resources Resources         `yaml:"resources,omitempty" json:"resources,omitempty"`
	Readiness *Readiness        `yaml:"readiness,omitempty" json:"readiness,omitempty"`
	// Tools are backlab commands compiled on the host and added to the
	// service's build context as tools/NAME, for its Dockerfile to COPY.
	Tools []string `yaml:"tools,omitempty" json:"tools,omitempty" jsonschema:"description=backlab commands (backlab-load) compiled on the host and put in the build context as tools/NAME for the Dockerfile to COPY; only with build."`
}

// Tools maps the commands a service may ask for (Service.Tools) to their
// Go packages in the backlab module.
var Tools = map[string]string{
	"backlab-load": "github.com/backlab/backlab/cmd/backlab-load",
}

// Mount attaches a lab volume to a service.
type Mount struct {
	Volume   string `yaml:"volume" json:"volume" jsonschema:"required"`
	Path     string `yaml:"path" json:"path" jsonschema:"required,pattern=^/"`
	ReadOnly bool   `yaml:"read_only,omitempty" json:"read_only,omitempty"`
}

// Resources bound a container. Empty fields take the runner's defaults
// (512Mi, 1 CPU, 256 pids).
type Resources struct {
	// Memory like "256Mi", "1Gi" or "300M".
	Memory string `yaml:"memory,omitempty" json:"memory,omitempty" jsonschema:"pattern=^[0-9]+(Ki|Mi|Gi|K|M|G)?$,description=Memory limit (e.g. 256Mi); default 512Mi."`
	// CPUs like 0.5 or 2.
	CPUs float64 `yaml:"cpus,omitempty" json:"cpus,omitempty" jsonschema:"exclusiveMinimum=0,maximum=64,description=CPU limit in cores; default 1."`
	Pids int64   `yaml:"pids,omitempty" json:"pids,omitempty" jsonschema:"minimum=16,maximum=32768,description=Process limit; default 256."`
}

// Readiness tells when a service is ready: exactly one of TCP, HTTP and
// Exec is set.
type Readiness struct {
	TCP  int        `yaml:"tcp,omitempty" json:"tcp,omitempty" jsonschema:"minimum=1,maximum=65535,description=Port that accepts a TCP connection once ready."`
	HTTP *HTTPProbe `yaml:"http,omitempty" json:"http,omitempty"`
	Exec []string   `yaml:"exec,omitempty" json:"exec,omitempty" jsonschema:"description=Command that exits 0 once ready."`
	// Timeout like "30s"; default 60s.
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"description=Longest wait for readiness (Go duration\\, e.g. 30s); default 60s."`
}

// HTTPProbe is ready when GET Path on Port answers below 500.
type HTTPProbe struct {
	Port int    `yaml:"port" json:"port" jsonschema:"required,minimum=1,maximum=65535"`
	Path string `yaml:"path,omitempty" json:"path,omitempty" jsonschema:"description=Path to GET; default /."`
}

// Workspace says where the learner's shell runs.
type Workspace struct {
	Service string   `yaml:"service" json:"service" jsonschema:"required,description=Service that is the learner's workspace."`
	User    string   `yaml:"user,omitempty" json:"user,omitempty" jsonschema:"description=User of the learner's shell; default the service's user."`
	WorkDir string   `yaml:"workdir" json:"workdir" jsonschema:"required,pattern=^/,description=Folder the shell starts in and solutions are applied to."`
	Shell   []string `yaml:"shell,omitempty" json:"shell,omitempty" jsonschema:"description=Shell command; default [bash, -l]."`
}

// Task is one step of the lab as the learner sees it.
type Task struct {
	ID    string `yaml:"id" json:"id" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,62}$"`
	Title string `yaml:"title" json:"title" jsonschema:"required,minLength=1"`
	// Instructions is a Markdown file.
	Instructions string `yaml:"instructions" json:"instructions" jsonschema:"required,description=Markdown file with the task's instructions."`
	// Hints are revealed one at a time: a nudge, a pointer, a near-solution.
	Hints []string `yaml:"hints,omitempty" json:"hints,omitempty" jsonschema:"description=Progressive hints, revealed one at a time."`
	// Steps are the checker steps that prove the task.
	Steps []string `yaml:"steps,omitempty" json:"steps,omitempty" jsonschema:"description=Checker steps that prove this task."`
}

// DefaultCheckerTimeout bounds a check run when the lab sets none.
const DefaultCheckerTimeout = "120s"

// Checker is the program that verifies the learner's work.
type Checker struct {
	// Build is a folder holding a Go main package, built with the project's
	// module (it may import the checker SDK).
	Build string `yaml:"build" json:"build" jsonschema:"required,description=Folder of the checker's Go main package."`
	// Timeout like "60s"; default DefaultCheckerTimeout.
	Timeout string            `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"description=Longest a check may run (Go duration); default 120s."`
	Env     map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// Restart lists services restarted (and awaited) before each check, so
	// that what is checked is what the learner saved.
	Restart []string `yaml:"restart,omitempty" json:"restart,omitempty" jsonschema:"description=Services restarted before each check so the learner's saved work is what runs."`
	// Mounts give the checker read-only views of lab volumes.
	Mounts []Mount `yaml:"mounts,omitempty" json:"mounts,omitempty" jsonschema:"description=Read-only views of lab volumes for the checker."`
	// Steps declares every step the checker reports, in order.
	Steps []Step `yaml:"steps" json:"steps" jsonschema:"required,minItems=1"`
}

// Step is one verification the checker reports.
type Step struct {
	ID    string `yaml:"id" json:"id" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,62}$"`
	Title string `yaml:"title" json:"title" jsonschema:"required,minLength=1"`
}

// Variant is an alternative solution and the verdict the checker must give.
// Its folder holds a patch (PatchFile) against its base and/or a script
// (ScriptFile) run after the patch; see [Lab.VariantTree].
type Variant struct {
	// Dir is the variant's folder.
	Dir string `yaml:"dir" json:"dir" jsonschema:"required"`
	// Base is what the patch applies to: BaseStarter or BaseSolution.
	Base string `yaml:"base" json:"base" jsonschema:"required,enum=starter,enum=solution"`
	// Expect is "pass" or "fail".
	Expect string `yaml:"expect" json:"expect" jsonschema:"required,enum=pass,enum=fail"`
	// Failing lists steps that must fail (when Expect is fail); empty means
	// at least one step fails.
	Failing []string `yaml:"failing,omitempty" json:"failing,omitempty"`
	// About says what the variant shows.
	About string `yaml:"about,omitempty" json:"about,omitempty"`
}
