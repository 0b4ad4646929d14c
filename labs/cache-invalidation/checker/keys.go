package main

// Finding a product's cached page in Redis, whatever the key is called.
//
// The checker does not assume a key shape: a page may live under
// product:42, page:{product:42}, product:42:v7 (a versioned key) or any
// other name. A key holds the page of a product of the checker's own when
// its value (a string, or a field of a hash) contains the product's SKU,
// which is random and appears nowhere else. Keys whose name contains the
// product's id are looked at first; only when none of them holds the page
// is the whole keyspace scanned.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pageKey is a key that holds a product's page, with its type ("string"
// or "hash").
type pageKey struct {
	name string
	kind string
}

// pageKeys returns the keys that hold p's page.
func pageKeys(ctx context.Context, rc *redisConn, p *product) ([]pageKey, error) {
	id := strconv.FormatInt(p.ID, 10)
	keys, err := rc.scan(ctx, "*"+id+"*")
	if err != nil {
		return nil, err
	}
	found, err := keysHolding(ctx, rc, keys, p.SKU)
	if err != nil || len(found) > 0 {
		return found, err
	}
	keys, err = rc.scan(ctx, "*")
	if err != nil {
		return nil, err
	}
	return keysHolding(ctx, rc, keys, p.SKU)
}

func keysHolding(ctx context.Context, rc *redisConn, keys []string, needle string) ([]pageKey, error) {
	var found []pageKey
	for _, k := range keys {
		v, kind, err := rc.value(ctx, k)
		if err != nil {
			return nil, err
		}
		if strings.Contains(v, needle) {
			found = append(found, pageKey{name: k, kind: kind})
		}
	}
	return found, nil
}

// value returns the text a key holds (a hash's fields and values joined)
// and its type; "" for a key that is gone or of another type.
func (c *redisConn) value(ctx context.Context, key string) (string, string, error) {
	v, err := c.do(ctx, "GET", key)
	var re redisError
	switch {
	case errors.As(err, &re) && strings.HasPrefix(string(re), "WRONGTYPE"):
		h, err := c.do(ctx, "HGETALL", key)
		if errors.As(err, &re) && strings.HasPrefix(string(re), "WRONGTYPE") {
			return "", "other", nil
		}
		if err != nil {
			return "", "", err
		}
		var b strings.Builder
		items, _ := h.([]any)
		for _, it := range items {
			s, _ := it.(string)
			b.WriteString(s)
			b.WriteByte('\n')
		}
		return b.String(), "hash", nil
	case err != nil:
		return "", "", err
	}
	s, _ := v.(string)
	return s, "string", nil
}

// planted is what plant changed, to put back.
type planted struct {
	key    pageKey
	field  string // of a hash
	before string
}

// plant replaces old with marker in the value of every key (every field of
// a hash) that contains old, keeping the keys' TTLs, and returns what it
// changed.
func plant(ctx context.Context, rc *redisConn, keys []pageKey, old, marker string) ([]planted, error) {
	var done []planted
	for _, k := range keys {
		switch k.kind {
		case "string":
			v, ok, err := rc.get(ctx, k.name)
			if err != nil {
				return done, err
			}
			if !ok || !strings.Contains(v, old) {
				continue
			}
			if _, err := rc.do(ctx, "SET", k.name, strings.ReplaceAll(v, old, marker), "KEEPTTL", "XX"); err != nil {
				return done, err
			}
			done = append(done, planted{key: k, before: v})
		case "hash":
			h, err := rc.do(ctx, "HGETALL", k.name)
			if err != nil {
				return done, err
			}
			items, _ := h.([]any)
			for i := 0; i+1 < len(items); i += 2 {
				f, _ := items[i].(string)
				v, _ := items[i+1].(string)
				if !strings.Contains(v, old) {
					continue
				}
				if _, err := rc.do(ctx, "HSET", k.name, f, strings.ReplaceAll(v, old, marker)); err != nil {
					return done, err
				}
				done = append(done, planted{key: k, field: f, before: v})
			}
		}
	}
	return done, nil
}

// unplant puts back what plant changed (where the key still exists).
func unplant(ctx context.Context, rc *redisConn, ps []planted) error {
	for _, p := range ps {
		var err error
		if p.key.kind == "hash" {
			if n, e := rc.int(ctx, "EXISTS", p.key.name); e == nil && n == 1 {
				_, err = rc.do(ctx, "HSET", p.key.name, p.field, p.before)
			} else {
				err = e
			}
		} else {
			_, err = rc.do(ctx, "SET", p.key.name, p.before, "KEEPTTL", "XX")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keyNames lists keys for a message.
func keyNames(keys []pageKey) string {
	var names []string
	for _, k := range keys {
		names = append(names, k.name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// cachedPrices describes the prices the cached pages of p show, for a
// message: " Redis holds product:42 with price_cents 1999."
func cachedPrices(ctx context.Context, rc *redisConn, p *product) string {
	keys, err := pageKeys(ctx, rc, p)
	if err != nil || len(keys) == 0 {
		return ""
	}
	var parts []string
	for _, k := range keys {
		v, _, err := rc.value(ctx, k.name)
		if err != nil {
			continue
		}
		if i := strings.Index(v, `"price_cents":`); i >= 0 {
			rest := strings.TrimLeft(v[i+len(`"price_cents":`):], " ")
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			parts = append(parts, fmt.Sprintf("%s with price_cents %s", k.name, rest[:j]))
		} else {
			parts = append(parts, k.name)
		}
	}
	return " Redis holds " + strings.Join(parts, "; ") + "."
}

// ---------------------------------------------------------------------------
// Holding Redis' writes, for the races of fresh-after-write.

// pauseWrites makes Redis hold every write command (SET, DEL, EXPIRE,
// EVAL, PUBLISH …) of every client until unpauseWrites or until ms have
// passed; reads are still answered.
func (c *redisConn) pauseWrites(ctx context.Context, ms int) error {
	_, err := c.do(ctx, "CLIENT", "PAUSE", strconv.Itoa(ms), "WRITE")
	return err
}

func (c *redisConn) unpauseWrites(ctx context.Context) error {
	_, err := c.do(ctx, "CLIENT", "UNPAUSE")
	return err
}

// heldClients returns the ids of the clients whose command Redis holds
// (flag b: blocked, here by the pause), with the command each one sent.
func (c *redisConn) heldClients(ctx context.Context) (map[string]string, error) {
	v, err := c.do(ctx, "CLIENT", "LIST")
	if err != nil {
		return nil, err
	}
	text, _ := v.(string)
	held := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		var id, flags, cmd string
		for _, f := range strings.Fields(line) {
			name, value, _ := strings.Cut(f, "=")
			switch name {
			case "id":
				id = value
			case "flags":
				flags = value
			case "cmd":
				cmd = value
			}
		}
		if id != "" && strings.Contains(flags, "b") {
			held[id] = cmd
		}
	}
	return held, nil
}

func (c *redisConn) killClient(ctx context.Context, id string) error {
	_, err := c.do(ctx, "CLIENT", "KILL", "ID", id)
	return err
}
