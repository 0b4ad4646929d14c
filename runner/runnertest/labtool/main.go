// Command labtool is the helper program inside the conformance suite's test
// image: a small TCP and HTTP server and the network probes the suite runs
// from inside sandboxes. It is built statically (CGO_ENABLED=0).
//
// Usage:
//
//	labtool serve [-tcp ADDR] [-http ADDR] [-delay DUR] [-require HOST:PORT]
//	labtool dial [-timeout DUR] HOST:PORT...   # one line "ADDR ok|fail ERR" each; exit 0 if all connected
//	labtool get [-timeout DUR] URL              # prints the body; exit 1 on error or status >= 400
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: labtool serve|dial|get ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		serve(args)
	case "dial":
		os.Exit(dial(args))
	case "get":
		os.Exit(get(args))
	default:
		fmt.Fprintf(os.Stderr, "labtool: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

// serve listens after delay; with -require it first checks that another
// service answers, and exits 1 if not (to prove readiness order).
func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	tcpAddr := fs.String("tcp", "", "TCP address to accept connections on")
	httpAddr := fs.String("http", "", "HTTP address to serve on")
	delay := fs.Duration("delay", 0, "wait this long before listening")
	require := fs.String("require", "", "HOST:PORT that must answer at start")
	_ = fs.Parse(args)

	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	id := hex.EncodeToString(nonce[:])
	fmt.Println("labtool serving, instance", id)
	if *require != "" {
		c, err := net.DialTimeout("tcp", *require, 2*time.Second)
		if err != nil {
			fmt.Println("required service does not answer:", err)
			os.Exit(1)
		}
		c.Close()
		fmt.Println("required service answers:", *require)
	}
	time.Sleep(*delay)
	var wg sync.WaitGroup
	if *tcpAddr != "" {
		l, err := net.Listen("tcp", *tcpAddr)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("listening on tcp", *tcpAddr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					fmt.Fprintf(c, "hello %s\n", id)
				}()
			}
		}()
	}
	if *httpAddr != "" {
		fmt.Println("listening on http", *httpAddr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := http.ListenAndServe(*httpAddr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				host, _ := os.Hostname()
				fmt.Fprintf(w, "instance=%s host=%s path=%s\n", id, host, r.URL.Path)
			}))
			fmt.Println(err)
			os.Exit(1)
		}()
	}
	wg.Wait()
	select {}
}

func dial(args []string) int {
	fs := flag.NewFlagSet("dial", flag.ExitOnError)
	timeout := fs.Duration("timeout", 2*time.Second, "per-address dial timeout")
	_ = fs.Parse(args)
	addrs := fs.Args()
	results := make([]string, len(addrs))
	failed := false
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, *timeout)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				results[i] = fmt.Sprintf("%s fail %v", addr, err)
				failed = true
				return
			}
			c.Close()
			results[i] = addr + " ok"
		}()
	}
	wg.Wait()
	for _, r := range results {
		fmt.Println(r)
	}
	if failed {
		return 1
	}
	return 0
}

func get(args []string) int {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "request timeout")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: labtool get URL")
		return 2
	}
	c := &http.Client{Timeout: *timeout, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	resp, err := c.Get(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(os.Stdout, resp.Body)
	if resp.StatusCode >= 400 {
		fmt.Fprintln(os.Stderr, resp.Status)
		return 1
	}
	return 0
}
