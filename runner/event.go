package runner

import "time"

// EventType names a kind of [Event].
type EventType string

// Event types. Provisioning events come from [Driver.Start]; step, log and
// metric events are what checkers write; check events frame a check run.
const (
	EventServiceStarting EventType = "service.starting" // Service is being created
	EventServiceReady    EventType = "service.ready"    // Service passed its probe
	EventSandboxReady    EventType = "sandbox.ready"    // all services ready

	EventStepStarted EventType = "step.started" // Step began
	EventStepPassed  EventType = "step.passed"  // Step held; Message may show evidence
	EventStepFailed  EventType = "step.failed"  // Step failed; Message and Hint say why
	EventLog         EventType = "log"          // Message is a line of checker output
	EventMetric      EventType = "metric"       // Name, Value, Unit (or Data) record a figure

	EventCheckStarted  EventType = "check.started"  // a check run began
	EventCheckFinished EventType = "check.finished" // Outcome says how it ended
)

// Outcome is how a check run ended.
type Outcome string

// Outcomes. Only OutcomePassed means the learner's work holds.
const (
	OutcomePassed  Outcome = "passed"  // exit 0 and every step passed
	OutcomeFailed  Outcome = "failed"  // exit 1 with at least one failed step
	OutcomeError   Outcome = "error"   // the checker broke: other exit, bad output
	OutcomeTimeout Outcome = "timeout" // the checker ran past its timeout
)

// Event is one thing that happened in a session. It is also the checker
// wire format: a checker writes one JSON object a line with Type set and
// the fields that type uses.
type Event struct {
	Type    EventType `json:"type"`
	Time    time.Time `json:"time,omitzero"`
	Service string    `json:"service,omitempty"`
	Step    string    `json:"step,omitempty"`
	Title   string    `json:"title,omitempty"`
	Message string    `json:"message,omitempty"`
	Hint    string    `json:"hint,omitempty"`
	Name    string    `json:"name,omitempty"`
	Value   float64   `json:"value,omitempty"`
	Unit    string    `json:"unit,omitempty"`
	Data    any       `json:"data,omitempty"`
	Outcome Outcome   `json:"outcome,omitempty"`
}
