#!/usr/bin/env bash
# engine.sh makes sure a Docker engine answers on this machine.
#
# When `docker info` already works it does nothing. Otherwise it installs
# Debian's docker.io (and debootstrap, which `backlab images build` needs to
# make the base image where no registry answers), starts dockerd in the
# background and waits until it answers. Needs root where it has to install.
set -euo pipefail

log() { printf 'engine: %s\n' "$*" >&2; }

# Sandboxes live on internal networks whose bridges backlab names "blk-…".
# An internal network still lets its containers reach the host itself (the
# bridge's gateway address, and through it every address of the host), so
# drop every connection a sandbox opens towards the host, over IPv4 and
# IPv6. Replies to connections the host opened (readiness probes) still
# come back. Running this again changes nothing. `backlab serve` checks at
# start that the rule works and refuses to serve beyond loopback when not.
isolate_rule=(INPUT -i blk-+ -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP)
isolate_host() {
  if [ "$(id -u)" != 0 ]; then
    log "WARNING: not root, so the firewall rule that keeps sandboxes off this machine was NOT added."
    log "  run: sudo bash scripts/engine.sh"
    log "  or:  sudo iptables -I ${isolate_rule[*]}"
    log "       sudo ip6tables -I ${isolate_rule[*]}"
    log "  (backlab serve refuses to serve beyond loopback until sandboxes cannot reach this machine)"
    return 0
  fi
  if ! command -v iptables >/dev/null 2>&1; then
    log "WARNING: iptables is missing, so the firewall rule that keeps sandboxes off this machine was NOT added."
    log "  install it (apt-get install iptables), then run: sudo bash scripts/engine.sh"
    return 0
  fi
  # An earlier version dropped replies too; remove that rule.
  while iptables -D INPUT -i blk-+ -j DROP 2>/dev/null; do :; done
  iptables -C "${isolate_rule[@]}" 2>/dev/null || iptables -I "${isolate_rule[@]}"
  if command -v ip6tables >/dev/null 2>&1; then
    if ! { ip6tables -C "${isolate_rule[@]}" 2>/dev/null || ip6tables -I "${isolate_rule[@]}"; }; then
      log "WARNING: could not add the IPv6 rule: ip6tables -I ${isolate_rule[*]}"
    fi
  else
    log "note: ip6tables is missing, so no IPv6 rule was added (sandboxes get no IPv6 address unless the engine enables it)"
  fi
}

if docker info >/dev/null 2>&1; then
  isolate_host
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  log "no Docker engine answers and this is not root: start one (for example 'sudo bash scripts/engine.sh'), then retry"
  exit 1
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

logfile=${BACKLAB_DOCKERD_LOG:-/var/log/backlab-dockerd.log}
if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd (log: $logfile)"
  # containerd is started by dockerd itself when no system containerd runs.
  nohup dockerd >"$logfile" 2>&1 &
fi

for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    log "Docker engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    isolate_host
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 60 s; see $logfile"
tail -n 30 "$logfile" >&2 || true
exit 1
