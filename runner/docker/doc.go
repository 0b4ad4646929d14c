// Package docker implements [runner.Driver] on a Docker engine through the
// Engine API (github.com/moby/moby/client).
//
// # What a sandbox is made of
//
// For a session S the driver creates
//
//   - a bridge network "backlab-S", internal (no route out) unless the spec
//     allows egress. Its Linux bridge is named "blk-" plus a hash of the
//     network name, so that one host firewall rule on "blk-+" can keep every
//     sandbox away from the host itself (see scripts/engine.sh);
//   - a named volume "backlab-S-V" for each declared volume V. Docker fills
//     an empty volume from the image content at the mount path of the first
//     container that mounts it, which is how a workspace image seeds the code
//     an app service shares;
//   - a container "backlab-S-N" for each service N, with host name N and
//     network alias N, so services reach each other by name;
//   - a container "backlab-S-job-J" for each job J ([runner.Sandbox.RunJob]).
//
// Every resource carries the runner.Label* labels (managed, session, lab,
// instance, service, role), which is what [Driver.List] and [Driver.Reap]
// look for.
//
// # Hardening
//
// Every container drops all capabilities except the spec's CapAdd, runs
// with no-new-privileges, docker-init as PID 1, pids, memory (without swap)
// and CPU limits, a size-capped json-file log, and never privileged. It gets
// no bind mounts, only session volumes and tmpfs, and so never the Docker
// socket. The driver refuses to run a container as root unless the service
// sets AllowRoot: an explicit root User, or an empty User when the image's
// configured user is empty or root.
//
// # Readiness
//
// Services start one at a time; each must pass its probe before the next is
// created. TCP and HTTP probes are dialled from the driver's host to the
// container's address on the session network (on Linux the host routes to
// every bridge network directly). This needs the host firewall to let the
// replies of connections the host opened back in from the sandbox bridges;
// scripts/engine.sh's rule must accept ESTABLISHED traffic before dropping
// what the sandboxes send to the host. Exec probes run a command inside the
// service without a TTY.
package docker
