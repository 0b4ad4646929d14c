package runnertest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

func init() {
	commands["wget"] = wgetCmd
	commands["busybox"] = busyboxCmd
}

// busyboxCmd runs an applet: httpd, or any command of the fake.
func busyboxCmd(ctx context.Context, p *Proc) int {
	if len(p.Args) < 2 {
		return p.Errorf(1, "usage: busybox APPLET [ARGS...]")
	}
	if p.Args[1] == "httpd" {
		return httpdCmd(ctx, p)
	}
	return p.Run(ctx, p.Args[1:]...)
}

// wgetCmd is wget [-q] [-O FILE] URL; -O - writes to standard output.
func wgetCmd(ctx context.Context, p *Proc) int {
	set, args, err := flags(p.Args[1:], "O")
	if err != nil || len(args) != 1 {
		return p.Errorf(1, "usage: wget [-q] [-O FILE] URL")
	}
	status, body, err := p.Get(args[0])
	if err != nil {
		return p.Errorf(1, "can't connect to remote host: %v", err)
	}
	if status >= 400 {
		return p.Errorf(1, "server returned error: HTTP/1.1 %d %s", status, http.StatusText(status))
	}
	out, ok := set['O']
	if !ok {
		out = path.Base(args[0])
	}
	switch out {
	case "-":
		fmt.Fprint(p.Stdout, body)
	case "/dev/null":
	default:
		if err := p.WriteFile(out, []byte(body)); err != nil {
			return p.Errorf(1, "can't open '%s': %s", out, errText(err))
		}
	}
	return 0
}

// httpdCmd is busybox httpd [-f] -p PORT [-h HOME]: it serves the files
// under HOME, and runs the scripts under HOME/cgi-bin with the fake's
// shell as CGI programs, until it is stopped.
func httpdCmd(ctx context.Context, p *Proc) int {
	set, _, err := flags(p.Args[2:], "ph")
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	port, err := strconv.Atoi(strings.TrimPrefix(set['p'], ":"))
	if err != nil {
		return p.Errorf(1, "httpd needs -p PORT")
	}
	home := p.Abs(orDefault(set['h'], "."))
	closePort, err := p.Listen(port, func(method, target string) (int, string) {
		return cgi(ctx, p, home, method, target)
	})
	if err != nil {
		return p.Errorf(1, "%v", err)
	}
	defer closePort()
	<-ctx.Done()
	return 143
}

// cgi answers one request of httpd.
func cgi(ctx context.Context, p *Proc, home, method, target string) (int, string) {
	urlPath, query, _ := strings.Cut(target, "?")
	file := path.Join(home, path.Clean("/"+urlPath))
	if !strings.HasPrefix(urlPath, "/cgi-bin/") {
		b, err := p.ReadFile(file)
		if err != nil {
			return 404, "404 Not Found\n"
		}
		return 200, string(b)
	}
	if _, err := p.Stat(file); err != nil {
		return 404, "404 Not Found\n"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	child := *p
	child.Env = map[string]string{"REQUEST_METHOD": method, "QUERY_STRING": query, "SCRIPT_NAME": urlPath}
	for k, v := range p.Env {
		child.Env[k] = v
	}
	var out, errOut strings.Builder
	child.Stdout, child.Stderr, child.Dir = &out, &errOut, path.Dir(file)
	if code := child.Run(ctx, "sh", file); code != 0 && out.Len() == 0 {
		return 500, fmt.Sprintf("500 Internal Server Error: exit %d: %s", code, errOut.String())
	}
	return parseCGI(out.String())
}

// parseCGI splits a CGI program's output into its status and body.
func parseCGI(out string) (int, string) {
	br := bufio.NewReader(strings.NewReader(out))
	status := 200
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" || err != nil {
			break
		}
		if v, ok := strings.CutPrefix(line, "Status:"); ok {
			if n, err := strconv.Atoi(strings.Fields(v)[0]); err == nil {
				status = n
			}
		}
	}
	rest := make([]byte, br.Buffered())
	_, _ = br.Read(rest)
	return status, string(rest)
}
