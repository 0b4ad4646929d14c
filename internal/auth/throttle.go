package auth

import (
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// The throttle's rule. Failed password checks are counted in three kinds
// of buckets, each over a window of [Window] that starts with its first
// failure:
//
//   - a login name from one client address (the pair): [PairFailures]
//     failures hold that pair until the window ends. This is the lockout
//     people see, and only the address that failed is held: a stranger
//     who guesses at a name cannot lock its owner out from elsewhere.
//   - a client address, whatever the names: [AddrFailures] failures hold
//     the address, so that one client cannot guess at many names (or fill
//     the state with made-up ones). IPv6 addresses count per /64, which
//     one client usually holds whole.
//   - a login name, whatever the addresses: [NameFailures] failures hold
//     the name, against guessing from many addresses at once.
//
// The address and name limits do not hold a name at an address it logged
// in from successfully within [KnownFor]: strangers who fail from
// elsewhere, or from a shared address (a classroom behind one NAT), do
// not lock out someone who has logged in there before. A success clears
// only its pair's failures: a success for one's own account must not
// clear what an address or a name has failed.
//
// Attempts that are held are not checked and not counted. The state is
// bounded: at most a fixed number of buckets, the least recently used
// forgotten first.
const (
	Window       = 5 * time.Minute
	PairFailures = 5
	AddrFailures = 30
	NameFailures = 100
	KnownFor     = 30 * 24 * time.Hour
)

// DefaultThrottleEntries is the bound of a throttle's buckets when the
// caller has no better one: a few MB.
const DefaultThrottleEntries = 20000

// Scope says which limit holds an attempt.
type Scope string

// The scopes of [Throttle.Wait].
const (
	ScopeNone    Scope = ""
	ScopePair    Scope = "pair"    // this name from this address
	ScopeAddress Scope = "address" // this address, any name
	ScopeName    Scope = "name"    // this name, any address
)

// Throttle limits failed password checks per login name and client
// address (see the rule above). It is safe for concurrent use.
type Throttle struct {
	mu      sync.Mutex
	buckets *simplelru.LRU[string, *bucket]
}

type bucket struct {
	start  time.Time // the first failure of the window
	fails  int
	lastOK time.Time // pairs: the last success
}

// NewThrottle returns a throttle that keeps at most entries buckets.
func NewThrottle(entries int) *Throttle {
	buckets, _ := simplelru.NewLRU[string, *bucket](max(entries, 3), nil) // errs only on a size below 1
	return &Throttle{buckets: buckets}
}

// Len is how many buckets the throttle holds.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buckets.Len()
}

// addrKey is the bucket of an address: IPv6 per /64.
func addrKey(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is6():
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func pairKey(name string, a netip.Addr) string { return "p\x00" + name + "\x00" + addrKey(a) }
func nameKey(name string) string               { return "n\x00" + name }
func addressKey(a netip.Addr) string           { return "a\x00" + addrKey(a) }

// get returns the bucket of key, or nil; it drops a bucket with nothing
// left to remember.
func (t *Throttle) get(key string, now time.Time) *bucket {
	b, ok := t.buckets.Peek(key)
	if !ok {
		return nil
	}
	if now.Sub(b.start) >= Window {
		b.fails = 0
		if now.Sub(b.lastOK) >= KnownFor {
			t.buckets.Remove(key)
			return nil
		}
	}
	return b
}

// touch returns the bucket of key, made if missing, as the most recently
// used; it forgets the least recently used past the bound.
func (t *Throttle) touch(key string, now time.Time) *bucket {
	if b := t.get(key, now); b != nil {
		t.buckets.Get(key) // the most recently used now
		return b
	}
	b := &bucket{}
	t.buckets.Add(key, b)
	return b
}

// held is how long b holds at most limit failures, or zero.
func (b *bucket) held(limit int, now time.Time) time.Duration {
	if b == nil || b.fails < limit {
		return 0
	}
	return b.start.Add(Window).Sub(now)
}

// Wait reports how long an attempt for name from addr must wait, and
// which limit holds it; zero and ScopeNone when it may go ahead.
func (t *Throttle) Wait(name string, addr netip.Addr, now time.Time) (time.Duration, Scope) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pair := t.get(pairKey(name, addr), now)
	if d := pair.held(PairFailures, now); d > 0 {
		return d, ScopePair
	}
	if pair != nil && !pair.lastOK.IsZero() && now.Sub(pair.lastOK) < KnownFor {
		return 0, ScopeNone
	}
	if d := t.get(addressKey(addr), now).held(AddrFailures, now); d > 0 {
		return d, ScopeAddress
	}
	if d := t.get(nameKey(name), now).held(NameFailures, now); d > 0 {
		return d, ScopeName
	}
	return 0, ScopeNone
}

// Failed counts a failed check of name's password from addr.
func (t *Throttle) Failed(name string, addr netip.Addr, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []string{nameKey(name), addressKey(addr), pairKey(name, addr)} {
		b := t.touch(k, now)
		if b.fails == 0 {
			b.start = now
		}
		b.fails++
	}
}

// Succeeded records a successful login of name from addr: the pair's
// failures are cleared and the address is known for name.
func (t *Throttle) Succeeded(name string, addr netip.Addr, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.touch(pairKey(name, addr), now)
	b.fails, b.lastOK = 0, now
}
