package main

// A minimal Redis client: just enough of RESP, Redis's wire protocol, to
// send a command and read its reply. A command goes out as an array of bulk
// strings; a reply is a simple string (+OK), an error (-ERR …), an integer
// (:1), a bulk string ($5 hello, $-1 for nil) or an array of replies.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

type redisConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// redisError is an error reply of Redis (-ERR …).
type redisError string

func (e redisError) Error() string { return "redis: " + string(e) }

func dialRedis(ctx context.Context, addr string) (*redisConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &redisConn{conn: conn, r: bufio.NewReader(conn)}, nil
}

func (c *redisConn) Close() error { return c.conn.Close() }

// do sends one command and returns its reply: a string, an int64, nil, a
// []any, or an error (a redisError for an error reply).
func (c *redisConn) do(ctx context.Context, args ...string) (any, error) {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > 10*time.Second {
		deadline = time.Now().Add(10 * time.Second)
	}
	c.conn.SetDeadline(deadline)
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.conn.Write([]byte(b.String())); err != nil {
		return nil, err
	}
	v, err := c.read()
	if e, ok := v.(redisError); ok {
		return nil, e
	}
	return v, err
}

func (c *redisConn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return redisError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err // $-1: nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}

// Typed helpers.

func (c *redisConn) int(ctx context.Context, args ...string) (int64, error) {
	v, err := c.do(ctx, args...)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("redis: %s answered %v; an integer expected", args[0], v)
	}
	return n, nil
}

// get returns the value of key and whether it exists.
func (c *redisConn) get(ctx context.Context, key string) (string, bool, error) {
	v, err := c.do(ctx, "GET", key)
	if err != nil || v == nil {
		return "", false, err
	}
	s, ok := v.(string)
	return s, ok, nil
}

// stats returns the keyspace_hits and keyspace_misses counters of INFO stats.
func (c *redisConn) stats(ctx context.Context) (hits, misses int64, err error) {
	v, err := c.do(ctx, "INFO", "stats")
	if err != nil {
		return 0, 0, err
	}
	text, _ := v.(string)
	found := 0
	for _, line := range strings.Split(text, "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch name {
		case "keyspace_hits":
			hits, err = strconv.ParseInt(value, 10, 64)
			found++
		case "keyspace_misses":
			misses, err = strconv.ParseInt(value, 10, 64)
			found++
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if found != 2 {
		return 0, 0, errors.New("redis: INFO stats has no keyspace_hits/keyspace_misses")
	}
	return hits, misses, nil
}

// scan returns the keys matching a glob pattern.
func (c *redisConn) scan(ctx context.Context, pattern string) ([]string, error) {
	var keys []string
	cursor := "0"
	for {
		v, err := c.do(ctx, "SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
		if err != nil {
			return nil, err
		}
		parts, ok := v.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("redis: SCAN answered %v", v)
		}
		cursor, _ = parts[0].(string)
		list, _ := parts[1].([]any)
		for _, k := range list {
			if s, ok := k.(string); ok {
				keys = append(keys, s)
			}
		}
		if cursor == "0" || cursor == "" {
			return keys, nil
		}
	}
}
