# The image of backlab itself: `backlab serve` (and every other command),
# run as a non-root user, with what serve needs at runtime besides the
# Docker engine it drives:
#
#   - a Go toolchain (go.mod's version), because backlab compiles each lab's
#     checker and tools with `go build` from inside its own module;
#   - that module tree: go.mod, go.sum, runner/, cmd/backlab-load/, labs/
#     (in /opt/backlab, the working directory; serve's labs are ./labs);
#   - the modules those builds import, already downloaded (GOPROXY=off:
#     no network needed at runtime), and a build cache warmed by compiling
#     every lab's checker once, so a sandbox's first start does not wait
#     for the standard library and pgx to compile.
#
# Build (docker-compose.yml's `backlab` service does the same):
#
#   bin/backlab images build                  # makes backlab/base:bookworm (no registry needed)
#   docker build -t backlab/backlab .
#   docker build -t backlab/backlab --build-arg BASE=debian:bookworm-slim .   # where a registry answers
#
# How to run it (Docker socket, host network, the CA bundle): docs/admin.md.
# It builds with the legacy builder and with BuildKit alike.
ARG BASE=backlab/base:bookworm

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
# Debian's newest Go (1.23, backports) only bootstraps: it downloads the
# toolchain go.mod asks for from the module proxy, checked against the
# checksum database (the base image trusts the host's CAs, so this works
# behind a TLS-intercepting proxy too).
RUN echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && apt-get install -y --no-install-recommends -t bookworm-backports golang-1.23-go \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV PATH=/usr/local/go/bin:/usr/lib/go-1.23/bin:$PATH GOPATH=/go CGO_ENABLED=0 GOFLAGS=-buildvcs=false
WORKDIR /src
COPY go.mod go.sum ./
# The toolchain becomes /usr/local/go, without what building Go code does
# not use (the toolchain's own sources and tests, API lists, vet, cover…).
RUN GOTOOLCHAIN=auto go version \
 && cp -a "$(GOTOOLCHAIN=auto go env GOROOT)" /usr/local/go \
 && chmod -R u+w /usr/local/go \
 && cd /usr/local/go \
 && rm -rf api doc misc test src/cmd pkg/tool/*/cover pkg/tool/*/fix pkg/tool/*/vet \
       pkg/tool/*/cgo pkg/tool/*/preprofile bin/gofmt \
 && find src -type d -name testdata -prune -exec rm -rf {} + \
 && find src -type f -name '*_test.go' -delete \
 && find . -name _go.mod -execdir mv _go.mod go.mod \; \
 && GOTOOLCHAIN=local /usr/local/go/bin/go version
ENV GOTOOLCHAIN=local
RUN go mod download
# The heaviest dependencies of cmd/backlab, compiled while only go.mod
# decides: a change to backlab's own code then compiles in seconds (the
# legacy builder keeps no build cache between builds). Keep the list in
# step with go.mod.
RUN go build -trimpath modernc.org/sqlite github.com/jackc/pgx/v5/stdlib github.com/moby/moby/client \
      github.com/prometheus/client_golang/prometheus/promhttp github.com/yuin/goldmark

# The module tree compiles run in at runtime, and their modules: fetched
# from the full module cache above (as a file proxy), so only what the
# checkers and tools import (and the go.mod files of the whole module
# graph, which `go mod graph` fetches: a build may load the whole graph
# even where the build stage's did not) is kept. Then every checker and tool is compiled once exactly as backlab
# compiles them (runner/docker/images), which fills the build cache the image
# ships (without backlab's own build cache, which stays in this stage).
COPY go.mod go.sum /opt/backlab/
COPY runner /opt/backlab/runner
COPY cmd/backlab-load /opt/backlab/cmd/backlab-load
COPY labs /opt/backlab/labs
WORKDIR /opt/backlab
RUN export GOMODCACHE=/opt/go/mod GOCACHE=/opt/go/cache GOPROXY=file:///go/pkg/mod/cache/download GOSUMDB=off GOOS=linux \
 && go mod graph >/dev/null \
 && for d in labs/*/checker; do \
      (cd "$d" && go build -trimpath '-ldflags=-s -w -buildid=' -o /dev/null .) || exit 1; \
    done \
 && go build -trimpath '-ldflags=-s -w -buildid=' -o /dev/null github.com/backlab/backlab/cmd/backlab-load \
 && find /opt/go/mod/cache/download -name '*.zip' -delete \
 && du -sh /opt/go/mod /opt/go/cache /usr/local/go

WORKDIR /src
COPY . .
RUN go build -trimpath -ldflags='-s -w' -o /out/backlab ./cmd/backlab && /out/backlab help >/dev/null

FROM ${BASE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="backlab" \
      org.opencontainers.image.description="Self-hosted hands-on back-end labs in Docker sandboxes: the backlab server (backlab serve)" \
      org.opencontainers.image.source="https://github.com/backlab/backlab" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.documentation="https://github.com/backlab/backlab/blob/main/docs/admin.md"
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/backlab --shell /usr/sbin/nologin backlab \
 && mkdir -p /var/lib/backlab && chown backlab:backlab /var/lib/backlab && chmod 0700 /var/lib/backlab
COPY --from=build /usr/local/go /usr/local/go
COPY --from=build /opt/go /opt/go
COPY --from=build /opt/backlab /opt/backlab
COPY --from=build /out/backlab /usr/local/bin/backlab
# GOCACHE is read-only at runtime (root's, and the compose service mounts
# the root file system read-only): hits come from the warm cache, anything
# new (an edited checker) compiles in TMPDIR without being kept.
# GODEBUG=goindex=0: the go command's index of the standard library, kept in
# GOCACHE, does not match the toolchain once copied into this stage, and a
# read-only cache cannot take a new one, so every import of the standard
# library would fail ("package bytes is not in std"); without the index the
# go command reads the sources, as it does for any other package.
ENV PATH=/usr/local/go/bin:$PATH HOME=/home/backlab \
    GOTOOLCHAIN=local GOMODCACHE=/opt/go/mod GOCACHE=/opt/go/cache GOPROXY=off GOFLAGS=-buildvcs=false GODEBUG=goindex=0 \
    BACKLAB_DB=/var/lib/backlab/backlab.db
USER 10001:10001
RUN go telemetry off && go version
WORKDIR /opt/backlab
VOLUME ["/var/lib/backlab"]
# `backlab health` asks serve's /healthz at BACKLAB_ADDR.
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 CMD ["backlab", "health", "--timeout", "5s"]
ENTRYPOINT ["backlab"]
CMD ["serve"]
