package auth

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

var (
	t0       = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	home     = netip.MustParseAddr("198.51.100.2")
	stranger = netip.MustParseAddr("203.0.113.7")
)

// fail records n failures of name from addr, one a second from at.
func fail(th *Throttle, name string, addr netip.Addr, n int, at time.Time) {
	for i := range n {
		th.Failed(name, addr, at.Add(time.Duration(i)*time.Second))
	}
}

func TestThrottleStrangerCannotLockOutAName(t *testing.T) {
	th := NewThrottle(1000)
	fail(th, "ada", stranger, PairFailures, t0)
	now := t0.Add(time.Minute)
	if wait, scope := th.Wait("ada", stranger, now); wait <= 0 || scope != ScopePair {
		t.Errorf("the stranger after %d failures: wait %s (%s), want a wait for the pair", PairFailures, wait, scope)
	}
	if wait, scope := th.Wait("ada", home, now); wait != 0 {
		t.Errorf("ada from her own address is held up %s (%s) by a stranger's failures", wait, scope)
	}
	if wait, _ := th.Wait("bob", stranger, now); wait != 0 {
		t.Errorf("the stranger is held up for another name after %d failures: %s", PairFailures, wait)
	}
	// The window ends.
	if wait, _ := th.Wait("ada", stranger, t0.Add(Window+time.Second)); wait != 0 {
		t.Errorf("still waiting %s after the window", wait)
	}
}

func TestThrottleAddressLimit(t *testing.T) {
	th := NewThrottle(10000)
	th.Succeeded("bob", stranger, t0) // bob logged in from there before
	for i := range AddrFailures {
		th.Failed(fmt.Sprintf("name%d", i), stranger, t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(2 * time.Minute)
	if wait, scope := th.Wait("carol", stranger, now); wait <= 0 || scope != ScopeAddress {
		t.Errorf("after %d failures for other names, a new name from the address: wait %s (%s), want the address held", AddrFailures, wait, scope)
	}
	if wait, _ := th.Wait("carol", home, now); wait != 0 {
		t.Errorf("another address is held up: %s", wait)
	}
	if wait, scope := th.Wait("bob", stranger, now); wait != 0 {
		t.Errorf("bob, who logged in from the address before, is held up by others' failures there: %s (%s)", wait, scope)
	}
	// A success of its own does not clear an address's failures.
	th.Succeeded("mallory", stranger, now)
	if wait, _ := th.Wait("carol", stranger, now); wait <= 0 {
		t.Error("a success for one name cleared the address's failures")
	}
}

func TestThrottleIPv6CountsPerNetwork(t *testing.T) {
	th := NewThrottle(10000)
	for i := range AddrFailures {
		a := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		th.Failed(fmt.Sprintf("name%d", i), a, t0)
	}
	if wait, _ := th.Wait("carol", netip.MustParseAddr("2001:db8:1:2:ffff::1"), t0); wait <= 0 {
		t.Error("failures from one /64 under many addresses do not add up")
	}
	if wait, _ := th.Wait("carol", netip.MustParseAddr("2001:db8:1:3::1"), t0); wait != 0 {
		t.Errorf("another /64 is held up: %s", wait)
	}
}

func TestThrottleNameLimit(t *testing.T) {
	th := NewThrottle(10000)
	th.Succeeded("ada", home, t0.Add(-24*time.Hour))
	for i := range NameFailures {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
		th.Failed("ada", a, t0)
	}
	if wait, scope := th.Wait("ada", stranger, t0); wait <= 0 || scope != ScopeName {
		t.Errorf("after %d failures from many addresses, ada from a new one: wait %s (%s), want the name held", NameFailures, wait, scope)
	}
	if wait, scope := th.Wait("ada", home, t0); wait != 0 {
		t.Errorf("ada from an address she logged in from is held up: %s (%s)", wait, scope)
	}
}

func TestThrottleSuccessClearsThePair(t *testing.T) {
	th := NewThrottle(1000)
	fail(th, "ada", home, PairFailures-1, t0)
	th.Succeeded("ada", home, t0.Add(time.Minute))
	fail(th, "ada", home, PairFailures-1, t0.Add(2*time.Minute))
	if wait, _ := th.Wait("ada", home, t0.Add(3*time.Minute)); wait != 0 {
		t.Errorf("failures before a success still count: %s", wait)
	}
}

// TestThrottleBounded: made-up names from many addresses do not grow the
// state past its bound, and the newest counts survive.
func TestThrottleBounded(t *testing.T) {
	const bound = 500
	th := NewThrottle(bound)
	for i := range 20000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		th.Failed(fmt.Sprintf("random%d", i), a, t0)
		if th.Len() > bound {
			t.Fatalf("%d entries after %d failures, bound %d", th.Len(), i+1, bound)
		}
	}
	fail(th, "ada", stranger, PairFailures, t0)
	if wait, _ := th.Wait("ada", stranger, t0.Add(time.Minute)); wait <= 0 {
		t.Error("the latest failures were forgotten")
	}
}
