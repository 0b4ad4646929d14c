package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/client"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/metrics"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/runner"
	"github.com/backlab/backlab/web"
)

// localUser is who a loopback server without logins serves.
var localUser = store.User{ID: "local", Name: "You", Role: store.RoleLearner}

func defaultDB() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "backlab", "backlab.db")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "backlab", "backlab.db")
	}
	return filepath.Join(".backlab", "backlab.db")
}

// serveConfig is what `backlab serve` is told.
type serveConfig struct {
	addr, publicURL, db string
	labs                []string
	idle, warn          time.Duration
	limits              session.Limits
	sockets             web.SocketLimits
	login               string // auto, required, off
	beyondLoopback      bool
	trustedProxies      []netip.Prefix

	maxLifetime time.Duration // negative: no maximum

	acceptUnverifiedIsolation bool // serve beyond loopback when the host probe cannot run
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := serveConfig{}
	fs.StringVar(&c.addr, "addr", envOr("BACKLAB_ADDR", "127.0.0.1:8080"), "address to listen on; env BACKLAB_ADDR")
	fs.StringVar(&c.publicURL, "public-url", os.Getenv("BACKLAB_PUBLIC_URL"), "address browsers use (default http://ADDR); env BACKLAB_PUBLIC_URL")
	fs.StringVar(&c.db, "db", envOr("BACKLAB_DB", defaultDB()), "the store: an SQLite file, or a postgres:// URL; env BACKLAB_DB")
	fs.StringVar(&c.login, "login", "auto", "auto: logins required when reached beyond loopback or once accounts exist; required; off (loopback only)")
	proxies := &proxyList{}
	fs.Var(proxies, "trusted-proxy", "address or CIDR range of a reverse proxy whose X-Forwarded-For names the client (repeat, or a comma list); env BACKLAB_TRUSTED_PROXY")
	fs.DurationVar(&c.idle, "idle-timeout", 30*time.Minute, "stop a sandbox after this long without activity")
	fs.DurationVar(&c.warn, "idle-warning", 2*time.Minute, "warn the page this long before the idle stop")
	fs.DurationVar(&c.maxLifetime, "max-session-lifetime", session.DefaultMaxLifetime, "stop a sandbox after this long however active; the page is warned 10m before (0: no maximum)")
	fs.IntVar(&c.limits.PerUser, "max-per-user", session.DefaultLimits.PerUser, "sandboxes one user may run at once (-1: no limit)")
	fs.IntVar(&c.limits.Starts, "starts-per-minute", session.DefaultLimits.Starts, "sessions one user may start per minute (-1: no limit)")
	fs.IntVar(&c.limits.MaxSandboxes, "max-sandboxes", session.DefaultLimits.MaxSandboxes, "sandboxes the server runs at once (-1: no limit)")
	budget := fs.String("memory-budget", "", "sum of the memory limits of running sandboxes, e.g. 16Gi (default 75% of this machine's memory; \"off\": none)")
	minDisk := fs.String("min-free-disk", "2Gi", "refuse new sandboxes while the engine's disk has less free space (\"off\": never)")
	fs.IntVar(&c.sockets.PerUser, "max-sockets-per-user", web.DefaultSocketLimits.PerUser, "WebSockets (terminals, event streams) one user may have open at once (-1: no limit)")
	fs.IntVar(&c.sockets.PerSession, "max-sockets-per-session", web.DefaultSocketLimits.PerSession, "WebSockets one session may have open at once (-1: no limit)")
	isolationFlags(fs, &c)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return c, err
	}
	c.labs = pos
	if proxies.set {
		c.trustedProxies = proxies.list
	} else if env := os.Getenv("BACKLAB_TRUSTED_PROXY"); env != "" {
		if c.trustedProxies, err = parseProxies(env); err != nil {
			return c, fmt.Errorf("BACKLAB_TRUSTED_PROXY: %w", err)
		}
	}
	c.limits.StartsWindow = time.Minute
	if err := c.sockets.Check(); err != nil {
		return c, err
	}
	switch *budget {
	case "off":
		c.limits.MemoryBytes = -1
	case "":
		c.limits.MemoryBytes = hostMemory() / 4 * 3
	default:
		if c.limits.MemoryBytes, err = lab.ParseMemory(*budget); err != nil || c.limits.MemoryBytes <= 0 {
			return c, fmt.Errorf("--memory-budget %q: give a size like 16Gi, or off", *budget)
		}
	}
	if *minDisk == "off" {
		c.limits.MinFreeDisk = -1
	} else if c.limits.MinFreeDisk, err = lab.ParseMemory(*minDisk); err != nil {
		return c, fmt.Errorf("--min-free-disk %q: give a size like 2Gi, or off", *minDisk)
	}
	if len(c.labs) == 0 {
		c.labs = []string{"labs"}
	}
	if c.idle < 10*time.Second {
		return c, fmt.Errorf("--idle-timeout %s is too short; give at least 10s", c.idle)
	}
	if c.maxLifetime != 0 && c.maxLifetime < time.Minute {
		return c, fmt.Errorf("--max-session-lifetime %s is too short; give at least 1m, or 0 for no maximum", c.maxLifetime)
	}
	if c.maxLifetime == 0 {
		c.maxLifetime = -1 // the manager's "no maximum"
	}
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return c, fmt.Errorf("--addr %q: give host:port, e.g. 127.0.0.1:8080", c.addr)
	}
	if c.publicURL == "" {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			return c, fmt.Errorf("--addr %s listens on every address: give --public-url, the address browsers use (e.g. https://labs.example.org)", c.addr)
		}
		c.publicURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("--public-url %q: give the address browsers use, e.g. http://127.0.0.1:8080", c.publicURL)
	}
	// Beyond loopback: people on other machines reach the server, either
	// because it listens there, or because browsers use an address that
	// is not this machine's (a reverse proxy in front), or because a
	// proxy is declared.
	var why string
	switch {
	case !web.IsLoopback(host):
		why = "--addr " + c.addr + ": a server that listens beyond this machine"
	case !web.IsLoopback(u.Hostname()):
		why = "--public-url " + c.publicURL + ": a server that browsers reach through another address (a reverse proxy)"
	case len(c.trustedProxies) > 0:
		why = "--trusted-proxy: a server behind a reverse proxy"
	}
	c.beyondLoopback = why != ""
	switch c.login {
	case "auto", "required":
	case "off":
		if c.beyondLoopback {
			return c, fmt.Errorf("--login off with %s must require logins (anyone who reaches it would get a shell in a sandbox); drop --login off and create an admin with `backlab admin create`", why)
		}
	default:
		return c, fmt.Errorf("--login %q: give auto, required or off", c.login)
	}
	return c, nil
}

// proxyList is the --trusted-proxy flag: repeatable, each a comma list.
type proxyList struct {
	list []netip.Prefix
	set  bool
}

func (p *proxyList) String() string {
	var s []string
	for _, x := range p.list {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (p *proxyList) Set(v string) error {
	list, err := parseProxies(v)
	if err != nil {
		return err
	}
	p.list, p.set = append(p.list, list...), true
	return nil
}

// parseProxies parses a comma list of addresses and CIDR ranges.
func parseProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("--trusted-proxy %q is not a CIDR range: give the address of your reverse proxy (e.g. 127.0.0.1) or its network (e.g. 10.0.0.0/8)", f)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxy %q is not an IP address: give the address of your reverse proxy (e.g. 127.0.0.1) or its network as a CIDR range (e.g. 10.0.0.0/8)", f)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("--trusted-proxy %s trusts every address, so any client could name its own address in X-Forwarded-For: give only your proxy's address or network", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// cmdServe runs the browser UI until interrupted.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: serveLogLevel()}))
	labs, err := loadLabs(cfg.labs, stderr)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.db)
	if err != nil {
		return err
	}
	defer st.Close()
	if n, err := st.EndLiveSessions(ctx, "the server restarted"); err != nil {
		return err
	} else if n > 0 {
		logger.Info("ended sessions of an earlier run", "count", n)
	}
	if _, err := st.EndRunningChecks(ctx, "the server restarted during the check"); err != nil {
		return err
	}
	user, err := st.EnsureUser(ctx, localUser)
	if err != nil {
		return err
	}
	accounts, err := st.CountAccounts(ctx)
	if err != nil {
		return err
	}
	requireLogin := cfg.login == "required" || cfg.login == "auto" && (cfg.beyondLoopback || len(accounts) > 0)
	if requireLogin && accounts[store.RoleAdmin] == 0 {
		return fmt.Errorf("logins are required (--addr %s, --public-url %s, --login %s) but no admin account exists: create one with `backlab admin create --login NAME --db %s`, then start backlab again", cfg.addr, cfg.publicURL, cfg.login, redactDSN(cfg.db))
	}
	e, err := openEngine(ctx, logger, io.Discard)
	if err != nil {
		return fmt.Errorf("%w\nbacklab needs a Docker engine: run `sudo bash scripts/engine.sh`, then start backlab again", err)
	}
	defer e.Close()
	reaped := e.reapOrphans(ctx, stderr, logger)

	// One image build at a time: the first start of a lab waits for the
	// build of its images and shows the build's output.
	var buildMu sync.Mutex
	imagesFor := func(ctx context.Context, l *lab.Lab, progress io.Writer) (runner.ImageSet, error) {
		buildMu.Lock()
		defer buildMu.Unlock()
		b := *e.builder
		b.Progress = progress
		return b.Lab(ctx, l, true)
	}
	r := e.runner(logger)
	mctx, stopManager := context.WithCancel(context.WithoutCancel(ctx))
	var m *session.Manager
	mt := metrics.New(func() map[string]int { return m.Counts() })
	mt.Reaped(reaped)
	diskFree := engineDiskFree(ctx, e.docker)
	if cfg.limits.MinFreeDisk > 0 {
		if _, err := diskFree(); err != nil {
			logger.Warn("cannot measure the engine's free disk space, so --min-free-disk is not enforced (in a container, mount the engine's data folder read-only at the same path)", "err", err)
		}
	}
	m = session.New(mctx, session.Config{
		Runner: *r, Images: imagesFor, Store: st, Labs: labs,
		IdleTimeout: cfg.idle, IdleWarning: cfg.warn, Observer: mt, Log: logger,
		Limits: cfg.limits, DiskFree: diskFree,
		MaxLifetime: cfg.maxLifetime,
	})
	managerDone := make(chan struct{})
	go func() { m.Run(mctx); close(managerDone) }()
	defer func() {
		fmt.Fprintln(stderr, "stopping sandboxes…")
		stopManager()
		<-managerDone
	}()

	public, _ := url.Parse(cfg.publicURL)
	ready := func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return err
		}
		if _, err := e.docker.Ping(ctx, client.PingOptions{}); err != nil {
			return fmt.Errorf("the Docker engine does not answer: %w", err)
		}
		return nil
	}
	srv, err := web.New(web.Config{Manager: m, Store: st, PublicURL: public, Auth: requireLogin, User: user, TrustedProxies: cfg.trustedProxies, Ready: ready, Metrics: mt, Log: logger, Sockets: cfg.sockets})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another backlab running? pick another port with --addr)", cfg.addr, err)
	}
	// Sandboxes must not reach this machine: serve's port listens now.
	if warn, err := checkHostIsolation(ctx, e.driver, isolationPorts(ln, e.docker.DaemonHost()), cfg.beyondLoopback, cfg.acceptUnverifiedIsolation); err != nil {
		ln.Close()
		return err
	} else if warn != "" {
		fmt.Fprintf(stderr, "warning: %s\n", warn)
	}
	// Build what is missing in the background, so the first learner to
	// open a lab rarely waits.
	go func() {
		for _, l := range labs {
			if ctx.Err() != nil {
				return
			}
			if _, err := imagesFor(ctx, l, prefixed(stderr, "image | ")); err != nil && ctx.Err() == nil {
				logger.Warn("image build failed", "lab", l.ID, "err", err)
			}
		}
	}()
	how := "no login needed (loopback, no accounts)"
	if requireLogin {
		how = "logins required"
	}
	fmt.Fprintf(stdout, "backlab is serving %d labs on %s, %s (state in %s); press Ctrl-C to stop\n", len(labs), cfg.publicURL, how, redactDSN(cfg.db))
	err = web.Serve(ctx, ln, srv, logger)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// hostMemory is this machine's memory in bytes (0 when unknown, which
// turns the memory budget off).
func hostMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// engineDiskFree reports the free space of the engine's data folder, when
// the engine runs on this machine.
func engineDiskFree(ctx context.Context, cli *client.Client) func() (int64, error) {
	return func() (int64, error) {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		info, err := cli.Info(ictx, client.InfoOptions{})
		if err != nil {
			return 0, err
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(info.Info.DockerRootDir, &st); err != nil {
			return 0, err
		}
		return int64(st.Bavail) * int64(st.Bsize), nil
	}
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func serveLogLevel() slog.Level {
	if os.Getenv("BACKLAB_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
