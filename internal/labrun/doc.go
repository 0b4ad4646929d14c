// Package labrun runs labs on a [runner.Driver]: it starts a lab's sandbox,
// runs its checker and judges the outcome, applies solutions, and proves a
// lab both ways ([Runner.Test]).
//
// # Check runs
//
// [Run.Check] restarts the services the lab names (so that what is
// checked is what the learner saved), then runs the checker image as a job
// inside the sandbox network and reads its JSON lines as they come. The run
// is bounded by the lab's checker timeout and by [MaxCheckerOutput]. Its
// [Outcome] is passed only when the checker exits 0 and reported every step
// the lab declares as passed; anything the checker does outside the
// protocol makes it an error, never a pass.
package labrun
