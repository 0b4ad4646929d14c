// Package web serves backlab in the browser: the catalog, the lab page
// (instructions, terminals, editor, live checks) and the JSON API and
// WebSockets behind them. The page's assets are built from web/ui and
// embedded from web/static.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/metrics"
	"github.com/backlab/backlab/internal/session"
	"github.com/backlab/backlab/internal/store"
)

//go:embed static
var staticFS embed.FS

//go:embed openapi.json
var openAPI []byte

// Config configures a [Server].
type Config struct {
	Manager *session.Manager
	Store   *store.Store
	// PublicURL is the address browsers use (scheme and host); requests
	// for any other host are refused, and WebSocket origins must match.
	PublicURL *url.URL
	// Auth requires a login (see login.go); without it every request acts
	// as User, the one local learner of a loopback server.
	Auth bool
	User store.User
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (see clientAddr); from any other peer the header
	// is ignored.
	TrustedProxies []netip.Prefix
	// Hasher checks and hashes passwords (default auth.DefaultHasher);
	// Throttle limits failed password checks (default: a throttle of
	// auth.DefaultThrottleEntries).
	Hasher   *auth.Hasher
	Throttle *auth.Throttle
	// Ready reports whether what sessions need answers (for /readyz).
	Ready func(context.Context) error
	// Sockets bounds the WebSockets open at once.
	Sockets SocketLimits
	// Metrics, when set, counts WebSocket connections and is served at
	// /metrics.
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Server is the HTTP side of backlab.
type Server struct {
	cfg      Config
	log      *slog.Logger
	hosts    map[string]bool // Host header values answered
	origins  map[string]bool // Origin header values accepted
	labs     map[string]*labPage
	hasher   *auth.Hasher
	throttle *auth.Throttle
	// warnUntrusted logs once that a proxy seems to be in front but is
	// not trusted.
	warnUntrusted sync.Once
	static        fs.FS
	index         []byte
	handler       http.Handler
	sockets       *sockets // open WebSockets
}

// labPage is a lab's rendered text.
type labPage struct {
	Instructions string
	Tasks        map[string]string   // task id → HTML
	Hints        map[string][]string // task id → HTML of each hint
}

// New prepares a server: it renders every lab's Markdown once.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PublicURL == nil || cfg.PublicURL.Host == "" {
		return nil, errors.New("web: the public URL is missing (e.g. http://127.0.0.1:8080)")
	}
	if cfg.Hasher == nil {
		cfg.Hasher = auth.DefaultHasher
	}
	if cfg.Throttle == nil {
		cfg.Throttle = auth.NewThrottle(auth.DefaultThrottleEntries)
	}
	s := &Server{cfg: cfg, log: cfg.Log, labs: map[string]*labPage{}, hasher: cfg.Hasher, throttle: cfg.Throttle}
	s.hosts, s.origins = allowedHosts(cfg.PublicURL)
	for _, l := range cfg.Manager.Labs() {
		p, err := renderLab(l)
		if err != nil {
			return nil, err
		}
		s.labs[l.ID] = p
	}
	s.sockets = newSockets(cfg.Sockets)
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	s.static = sub
	s.index, err = fs.ReadFile(sub, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web: the page is missing from web/static (build it with web/ui): %w", err)
	}
	ops := http.NewServeMux()
	// Probes answer whatever the Host: an orchestrator calls them by the
	// pod's address, and they reveal nothing.
	ops.HandleFunc("GET /healthz", s.healthz)
	ops.HandleFunc("GET /readyz", s.readyz)
	if cfg.Metrics != nil {
		ops.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	ops.Handle("/", s.secure(s.authenticate(s.routes())))
	s.handler = s.logged(ops)
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// allowedHosts returns the Host and Origin values a server at public
// answers: the public host, and for a loopback address every loopback
// spelling of it with the same port.
func allowedHosts(public *url.URL) (hosts, origins map[string]bool) {
	hosts, origins = map[string]bool{}, map[string]bool{}
	add := func(h string) {
		hosts[h] = true
		origins[public.Scheme+"://"+h] = true
	}
	add(public.Host)
	host, port, err := net.SplitHostPort(public.Host)
	if err != nil {
		return hosts, origins
	}
	if IsLoopback(host) {
		for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
			add(net.JoinHostPort(h, port))
		}
	}
	return hosts, origins
}

// IsLoopback reports whether host names this machine's loopback.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var md = goldmark.New(goldmark.WithExtensions(extension.GFM))

// markdown renders trusted lab text; raw HTML in it is not passed through.
func markdown(src []byte) (string, error) {
	var b bytes.Buffer
	if err := md.Convert(src, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

func renderLab(l *lab.Lab) (*labPage, error) {
	p := &labPage{Tasks: map[string]string{}, Hints: map[string][]string{}}
	read := func(rel string) (string, error) {
		b, err := os.ReadFile(l.Path(rel))
		if err != nil {
			return "", fmt.Errorf("web: lab %s: %w", l.ID, err)
		}
		return markdown(b)
	}
	var err error
	if p.Instructions, err = read(l.Instructions); err != nil {
		return nil, err
	}
	for _, t := range l.Tasks {
		if p.Tasks[t.ID], err = read(t.Instructions); err != nil {
			return nil, err
		}
		for _, h := range t.Hints {
			html, err := markdown([]byte(h))
			if err != nil {
				return nil, err
			}
			p.Hints[t.ID] = append(p.Hints[t.ID], html)
		}
	}
	return p, nil
}

// apiError is the body of every API error.
type apiError struct {
	Error  string `json:"error"`
	Advice string `json:"advice,omitempty"`
	// RequestID, on a 500, is the id the server log has the error under.
	RequestID string `json:"request_id,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg, advice string) {
	writeJSON(w, status, apiError{Error: msg, Advice: advice})
}

// readJSON decodes a small JSON body into v, refusing unknown fields and
// more than limit bytes; it writes the error response itself.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)", "")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d KiB", limit>>10), "")
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, "the body is empty; send a JSON object", "")
		default:
			writeError(w, http.StatusBadRequest, "the body is not valid JSON for this request: "+err.Error(), "")
		}
		return false
	}
	return true
}

// Serve runs srv on ln until ctx ends, then shuts it down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}
