// Package runner holds backlab's domain: what a sandbox is made of
// ([SandboxSpec]), the [Driver] interface that container engines implement,
// and the [Event] values a session streams (provisioning progress and the
// steps of a check run).
//
// # Engines
//
// The package imports no container engine, and neither do the packages
// built on it (internal/labrun, internal/session, web; a test checks it).
// A lab's images reach them as an [ImageSet], resolved by the engine's
// image builder (runner/docker/images). runner/docker implements [Driver]
// on a Docker engine; a Kubernetes driver can implement the same interface
// (a namespace per session, one pod holding its services). Services address
// each other by name, which both engines honour (network aliases in Docker,
// hostAliases in a pod).
//
// # Lifecycle
//
//  1. [Driver.Start] creates everything a [SandboxSpec] declares, labelled
//     with the session id, lab id and owner instance, and returns once every
//     service passed its readiness probe.
//  2. The caller uses the [Sandbox]: exec commands, attach terminals, copy
//     files, restart services, run jobs (checkers) inside its network.
//  3. [Sandbox.Stop] removes all of it. [Driver.Reap] removes what a crashed
//     server left behind.
package runner
