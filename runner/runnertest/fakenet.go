package runnertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HTTPHandler answers the HTTP requests a fake listener gets.
type HTTPHandler func(method, path string) (status int, body string)

// network is a sandbox's network: which container listens on which
// port, and the containers' addresses. Containers reach each other by
// name; nothing outside the sandbox is reachable.
type network struct {
	mu        sync.Mutex
	prefix    string            // first three octets of the sandbox's addresses
	addrs     map[string]string // host name → address
	listeners map[string]map[int]*listener
}

// listener is an open port; handler is nil for a plain TCP server.
type listener struct {
	handler HTTPHandler
}

func newNetwork(prefix string) *network {
	return &network{prefix: prefix, addrs: map[string]string{}, listeners: map[string]map[int]*listener{}}
}

// addrOf returns (assigning on first use) a host's address.
func (n *network) addrOf(host string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if a, ok := n.addrs[host]; ok {
		return a
	}
	a := fmt.Sprintf("%s.%d", n.prefix, len(n.addrs)+2)
	n.addrs[host] = a
	return a
}

// host resolves a name or address as seen from the container self.
func (n *network) host(self, name string) (string, bool) {
	if name == "localhost" || name == "127.0.0.1" || name == "::1" {
		return self, true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for h, a := range n.addrs {
		if name == h || name == a {
			return h, true
		}
	}
	return "", false
}

// lookup finds the listener at host:port as seen from self.
func (n *network) lookup(self, addr string) (*listener, error) {
	hostName, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", portText)
	}
	h, ok := n.host(self, hostName)
	if !ok {
		return nil, fmt.Errorf("dial tcp: lookup %s: no such host", hostName)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	l, ok := n.listeners[h][port]
	if !ok {
		return nil, fmt.Errorf("dial tcp %s: connect: connection refused", addr)
	}
	return l, nil
}

// clear closes every port of host (its process ended).
func (n *network) clear(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.listeners, host)
}

// Listen opens port in the command's container; handler nil makes a plain
// TCP server. The returned function closes the port; it also closes when
// the container's process ends.
func (p *Proc) Listen(port int, handler HTTPHandler) (closePort func(), err error) {
	n, host := p.ctr.sb.net, p.ctr.name
	n.addrOf(host)
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, busy := n.listeners[host][port]; busy {
		return nil, fmt.Errorf("listen tcp :%d: bind: address already in use", port)
	}
	if n.listeners[host] == nil {
		n.listeners[host] = map[int]*listener{}
	}
	l := &listener{handler: handler}
	n.listeners[host][port] = l
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.listeners[host][port] == l {
			delete(n.listeners[host], port)
		}
	}, nil
}

// Dial connects to HOST:PORT in the sandbox (and closes at once).
func (p *Proc) Dial(addr string) error {
	_, err := p.ctr.sb.net.lookup(p.ctr.name, addr)
	return err
}

// Get sends GET rawURL inside the sandbox and returns the answer.
func (p *Proc) Get(rawURL string) (status int, body string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, "", err
	}
	if u.Scheme != "http" {
		return 0, "", fmt.Errorf("Get %q: unsupported protocol scheme %q", rawURL, u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	l, err := p.ctr.sb.net.lookup(p.ctr.name, addr)
	if err != nil {
		return 0, "", fmt.Errorf("Get %q: %w", rawURL, err)
	}
	if l.handler == nil {
		return 0, "", fmt.Errorf("Get %q: malformed HTTP response", rawURL)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	status, body = l.handler("GET", path)
	return status, body, nil
}

// labtoolCmd is the fake's labtool (see the labtool command): serve,
// dial and get on the sandbox's network.
func labtoolCmd(ctx context.Context, p *Proc) int {
	if len(p.Args) < 2 {
		return p.Errorf(2, "usage: labtool serve|dial|get ...")
	}
	fs := flag.NewFlagSet("labtool "+p.Args[1], flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	switch p.Args[1] {
	case "serve":
		tcpAddr := fs.String("tcp", "", "TCP address to accept connections on")
		httpAddr := fs.String("http", "", "HTTP address to serve on")
		delay := fs.Duration("delay", 0, "wait this long before listening")
		require := fs.String("require", "", "HOST:PORT that must answer at start")
		if fs.Parse(p.Args[2:]) != nil {
			return 2
		}
		return labtoolServe(ctx, p, *tcpAddr, *httpAddr, *delay, *require)
	case "dial":
		fs.Duration("timeout", 2*time.Second, "per-address dial timeout")
		if fs.Parse(p.Args[2:]) != nil {
			return 2
		}
		status := 0
		for _, addr := range fs.Args() {
			if err := p.Dial(addr); err != nil {
				fmt.Fprintf(p.Stdout, "%s fail %v\n", addr, err)
				status = 1
				continue
			}
			fmt.Fprintf(p.Stdout, "%s ok\n", addr)
		}
		return status
	case "get":
		fs.Duration("timeout", 3*time.Second, "request timeout")
		if fs.Parse(p.Args[2:]) != nil || fs.NArg() != 1 {
			return p.Errorf(2, "usage: labtool get URL")
		}
		status, body, err := p.Get(fs.Arg(0))
		if err != nil {
			return p.Errorf(1, "%v", err)
		}
		fmt.Fprint(p.Stdout, body)
		if status >= 400 {
			return p.Errorf(1, "%d", status)
		}
		return 0
	}
	return p.Errorf(2, "unknown command %q", p.Args[1])
}

func labtoolServe(ctx context.Context, p *Proc, tcpAddr, httpAddr string, delay time.Duration, require string) int {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	id := hex.EncodeToString(nonce[:])
	fmt.Fprintln(p.Stdout, "labtool serving, instance", id)
	if require != "" {
		if err := p.Dial(require); err != nil {
			fmt.Fprintln(p.Stdout, "required service does not answer:", err)
			return 1
		}
		fmt.Fprintln(p.Stdout, "required service answers:", require)
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return 143
	}
	host := p.Hostname()
	for _, l := range []struct {
		addr    string
		handler HTTPHandler
	}{
		{tcpAddr, nil},
		{httpAddr, func(_, path string) (int, string) {
			path, _, _ = strings.Cut(path, "?")
			return 200, fmt.Sprintf("instance=%s host=%s path=%s\n", id, host, path)
		}},
	} {
		if l.addr == "" {
			continue
		}
		_, portText, err := net.SplitHostPort(l.addr)
		port, perr := strconv.Atoi(portText)
		if err = errors.Join(err, perr); err != nil {
			fmt.Fprintln(p.Stdout, err)
			return 1
		}
		closePort, err := p.Listen(port, l.handler)
		if err != nil {
			fmt.Fprintln(p.Stdout, err)
			return 1
		}
		defer closePort()
		kind := "tcp"
		if l.handler != nil {
			kind = "http"
		}
		fmt.Fprintln(p.Stdout, "listening on", kind, l.addr)
	}
	<-ctx.Done()
	return 143
}
