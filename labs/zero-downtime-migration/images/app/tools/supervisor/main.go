// Command supervisor is the lab's deploy tool: it runs the accounts service
// the way a production platform would, and rolls it forward one phase at a
// time. It is part of the lab, not of the learner's code.
//
//   - :8080 is the service's address (APP_URL): a reverse proxy to the live
//     version of the app.
//   - :9090 is the control API the deploy command and the checker use:
//     POST /reset, POST /rollout?phase=N, GET /status, GET /logs?since=SEQ.
//
// A rollout of phase N builds phases/N, applies phases/N/migration.sql while
// the previous version still serves, starts the new version beside the old
// one, lets both serve for a while (as a rolling deploy across several
// instances does), then sends all traffic to the new version and stops the
// old one once its requests in flight are done.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	phasesDir  = getenv("PHASES_DIR", "/home/learner/app/phases")
	phase0Bin  = getenv("PHASE0_BIN", "/opt/accounts/phase-0")
	appDSN     = getenv("DATABASE_URL", "postgres://app:app@db:5432/accounts?sslmode=disable")
	deployDSN  = getenv("DEPLOY_DSN", "postgres://deployer:deployer@db:5432/postgres?sslmode=disable")
	overlap    = getDuration("OVERLAP", 2*time.Second)
	buildDir   = "/tmp/deploy"
	nextPort   atomic.Int32
	childEnvOK = []string{"PATH", "HOME", "LANG", "TZ", "GOCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "GOTELEMETRY"}
)

// backend is one running version of the app.
type backend struct {
	phase    int
	addr     string
	cmd      *exec.Cmd
	proxy    *httputil.ReverseProxy
	inflight atomic.Int64
	exited   chan struct{}
}

type deployer struct {
	deploying sync.Mutex // one reset or rollout at a time

	route sync.RWMutex // guards live and canary against the proxy's picks
	live  *backend
	other *backend // during the overlap, the second version serving
	rr    atomic.Uint64

	logMu sync.Mutex
	logs  []logLine
	seq   int64
}

type logLine struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Line string    `json:"line"`
}

func main() {
	log.SetFlags(0)
	nextPort.Store(8100)
	d := &deployer{}
	go func() {
		for {
			err := d.reset(context.Background(), io.Discard)
			if err == nil {
				return
			}
			d.logf("[deploy] starting phase 0: %v (retrying)", err)
			time.Sleep(time.Second)
		}
	}()
	ctl := http.NewServeMux()
	ctl.HandleFunc("POST /reset", d.handleReset)
	ctl.HandleFunc("POST /rollout", d.handleRollout)
	ctl.HandleFunc("GET /status", d.handleStatus)
	ctl.HandleFunc("GET /logs", d.handleLogs)
	go func() { log.Fatal(http.ListenAndServe(":9090", ctl)) }()
	log.Fatal((&http.Server{Addr: ":8080", Handler: d}).ListenAndServe())
}

// ServeHTTP proxies a request of the service to the live version, or during
// an overlap to either version in turn.
func (d *deployer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.route.RLock()
	b := d.live
	if d.other != nil && d.rr.Add(1)%2 == 0 {
		b = d.other
	}
	if b != nil {
		b.inflight.Add(1)
	}
	d.route.RUnlock()
	if b == nil {
		http.Error(w, "deploy: no version of the app is live", http.StatusServiceUnavailable)
		return
	}
	defer b.inflight.Add(-1)
	b.proxy.ServeHTTP(w, r)
}

func (d *deployer) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	log.Print(line)
	d.logMu.Lock()
	defer d.logMu.Unlock()
	d.seq++
	d.logs = append(d.logs, logLine{Seq: d.seq, Time: time.Now(), Line: line})
	if len(d.logs) > 5000 {
		d.logs = append([]logLine(nil), d.logs[1000:]...)
	}
}

// say writes a line to the caller of the control API and to the log.
func (d *deployer) say(w io.Writer, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	d.logf("[deploy] %s", line)
	fmt.Fprintln(w, line)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (d *deployer) handleStatus(w http.ResponseWriter, r *http.Request) {
	d.route.RLock()
	st := map[string]any{"phase": nil}
	if d.live != nil {
		st["phase"] = d.live.phase
	}
	d.route.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

func (d *deployer) handleLogs(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	d.logMu.Lock()
	out := []logLine{}
	for _, l := range d.logs {
		if l.Seq > since {
			out = append(out, l)
		}
	}
	d.logMu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (d *deployer) handleReset(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !d.deploying.TryLock() {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintln(w, "FAILED: a reset or a rollout is already running")
		return
	}
	defer d.deploying.Unlock()
	if err := d.resetLocked(r.Context(), w); err != nil {
		d.say(w, "FAILED: %v", err)
		return
	}
	d.say(w, "ok: the database holds the production data again and phase 0 is live")
}

func (d *deployer) reset(ctx context.Context, w io.Writer) error {
	d.deploying.Lock()
	defer d.deploying.Unlock()
	return d.resetLocked(ctx, w)
}

// resetLocked stops every version, re-creates the accounts database from its
// template (the production data as the lab starts) and starts phase 0.
func (d *deployer) resetLocked(ctx context.Context, w io.Writer) error {
	d.route.Lock()
	old := []*backend{d.live, d.other}
	d.live, d.other = nil, nil
	d.route.Unlock()
	for _, b := range old {
		if b != nil {
			d.stop(b, 0)
		}
	}
	d.say(w, "resetting the database to the production data")
	out, err := runCmd(ctx, "", nil, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", deployDSN,
		"-c", "DROP DATABASE IF EXISTS accounts WITH (FORCE)",
		"-c", "CREATE DATABASE accounts TEMPLATE accounts_seed")
	if err != nil {
		return fmt.Errorf("reset the database: %v\n%s", err, out)
	}
	b, err := d.start(ctx, w, 0, phase0Bin)
	if err != nil {
		return err
	}
	d.route.Lock()
	d.live = b
	d.route.Unlock()
	d.say(w, "phase 0 (the version in production) is live")
	return nil
}

func (d *deployer) handleRollout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	phase, err := strconv.Atoi(r.URL.Query().Get("phase"))
	if err != nil || phase < 1 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, "FAILED: phase must be a number from 1")
		return
	}
	if !d.deploying.TryLock() {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintln(w, "FAILED: a reset or a rollout is already running")
		return
	}
	defer d.deploying.Unlock()
	if err := d.rollout(r.Context(), w, phase); err != nil {
		d.say(w, "FAILED: %v", err)
		return
	}
	d.say(w, "ok: phase %d is live", phase)
}

func (d *deployer) rollout(ctx context.Context, w io.Writer, phase int) error {
	d.route.RLock()
	old := d.live
	d.route.RUnlock()
	if old == nil {
		return errors.New("no version is live (run deploy reset)")
	}
	if phase != old.phase+1 {
		return fmt.Errorf("phase %d is live, so the next rollout is phase %d; phases roll forward one at a time (deploy reset starts again from phase 0)", old.phase, old.phase+1)
	}
	dir := filepath.Join(phasesDir, strconv.Itoa(phase))
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return fmt.Errorf("phases/%d has no app to deploy (no go.mod): every phase holds the full app of its version, plus migration.sql if it changes the schema", phase)
	}

	d.say(w, "phase %d: building phases/%d while phase %d serves", phase, phase, old.phase)
	t := time.Now()
	bin := filepath.Join(buildDir, fmt.Sprintf("phase-%d-%d", phase, time.Now().UnixNano()))
	bctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	out, err := runCmd(bctx, dir, nil, "go", "build", "-o", bin, ".")
	cancel()
	if err != nil {
		return fmt.Errorf("phases/%d does not build: %v\n%s", phase, err, out)
	}
	d.say(w, "phase %d: built in %s", phase, since(t))

	if sqlFile := filepath.Join(dir, "migration.sql"); exists(sqlFile) {
		d.say(w, "phase %d: applying phases/%d/migration.sql while phase %d serves", phase, phase, old.phase)
		t = time.Now()
		out, err := runCmd(ctx, dir, nil, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", appDSN, "-f", "migration.sql")
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" {
				d.say(w, "  psql: %s", l)
			}
		}
		if err != nil {
			return fmt.Errorf("phases/%d/migration.sql failed (%v); phase %d keeps serving, and what the migration did before the error stays done", phase, err, old.phase)
		}
		d.say(w, "phase %d: migration applied in %s", phase, since(t))
	} else {
		d.say(w, "phase %d: no migration.sql, the schema stays as it is", phase)
	}

	t = time.Now()
	b, err := d.start(ctx, w, phase, bin)
	if err != nil {
		return err
	}
	d.say(w, "phase %d: started and healthy in %s", phase, since(t))

	d.route.Lock()
	d.other = b
	d.route.Unlock()
	d.say(w, "phase %d and phase %d both serve traffic for %s, as in a rolling deploy", old.phase, phase, overlap)
	select {
	case <-time.After(overlap):
	case <-b.exited:
		d.route.Lock()
		d.other = nil
		d.route.Unlock()
		return fmt.Errorf("phase %d exited while it served beside phase %d; phase %d keeps serving", phase, old.phase, old.phase)
	}

	d.route.Lock()
	d.live, d.other = b, nil
	d.route.Unlock()
	d.say(w, "phase %d takes all traffic; stopping phase %d once its requests in flight are done", phase, old.phase)
	d.stop(old, 10*time.Second)
	return nil
}

// start runs a version of the app on a port of its own and waits until its
// /healthz answers 200.
func (d *deployer) start(ctx context.Context, w io.Writer, phase int, bin string) (*backend, error) {
	port := nextPort.Add(1)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin)
	cmd.Env = childEnv("DATABASE_URL="+appDSN, "ADDR="+addr, fmt.Sprintf("PHASE=%d", phase))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start phase %d: %v", phase, err)
	}
	b := &backend{phase: phase, addr: addr, cmd: cmd, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			d.logf("[phase %d] %s", phase, sc.Text())
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		if err != nil {
			d.logf("[deploy] phase %d exited: %v", phase, err)
		}
		close(b.exited)
	}()
	target, _ := url.Parse("http://" + addr)
	b.proxy = httputil.NewSingleHostReverseProxy(target)
	b.proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	b.proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		d.logf("[deploy] phase %d did not answer %s %s: %v", phase, r.Method, r.URL.Path, err)
		http.Error(w, fmt.Sprintf("deploy: phase %d did not answer: %v", phase, err), http.StatusBadGateway)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return b, nil
			}
		}
		select {
		case <-b.exited:
			return nil, fmt.Errorf("phase %d exited before it became healthy (see deploy logs)", phase)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.stop(b, 0)
			return nil, fmt.Errorf("phase %d did not answer GET /healthz with 200 within 30s", phase)
		}
	}
}

// stop waits for a version's requests in flight (up to drain), then stops it
// with SIGTERM, and SIGKILL 5 seconds later.
func (d *deployer) stop(b *backend, drain time.Duration) {
	end := time.Now().Add(drain)
	for b.inflight.Load() > 0 && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.exited
	}
	if t, ok := b.proxy.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	d.logf("[deploy] phase %d stopped", b.phase)
}

// runCmd runs a command with the supervisor's safe environment and returns
// its combined output.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// childEnv is the environment of what the supervisor starts: never the
// deploy credentials.
func childEnv(extra ...string) []string {
	var env []string
	for _, k := range childEnvOK {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func getDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
