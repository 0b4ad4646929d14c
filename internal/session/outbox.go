package session

import "sync"

// outbox hands one subscriber, over an unbuffered channel, what was
// published to it and it has not taken yet, from a queue bounded in bytes.
// A subscriber that lets more than limit bytes wait (counting the item
// being handed over) is dropped: its queue is freed and its channel closed
// without the rest. So one slow reader holds at most limit bytes of the
// server's memory however much is published, and a publisher never waits
// for a reader. A goroutine per outbox feeds the channel until the outbox
// is dropped, or finished and drained.
type outbox[T any] struct {
	out   chan T
	wake  chan struct{} // a token when there is something new
	stop  chan struct{} // closed when dropped
	limit int
	size  func(T) int
	// merge joins next onto last when it can (terminal output), so that a
	// fast stream waits as few large pieces; nil: never.
	merge func(last, next T) (T, bool)

	mu      sync.Mutex
	queue   []T
	held    int  // bytes queued, plus the item being handed over
	peak    int  // the most bytes held at once
	done    bool // finish was called: close once the queue is drained
	dropped bool
}

func newOutbox[T any](limit int, size func(T) int, merge func(last, next T) (T, bool)) *outbox[T] {
	o := &outbox[T]{out: make(chan T), wake: make(chan struct{}, 1), stop: make(chan struct{}),
		limit: limit, size: size, merge: merge}
	go o.run()
	return o
}

// push queues v; it reports false when the subscriber is (now) dropped
// because v would take it past its limit.
func (o *outbox[T]) push(v T) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped || o.done {
		return !o.dropped
	}
	n := o.size(v)
	if o.held+n > o.limit {
		o.dropLocked()
		return false
	}
	o.held += n
	o.peak = max(o.peak, o.held)
	if k := len(o.queue); k > 0 && o.merge != nil {
		if m, ok := o.merge(o.queue[k-1], v); ok {
			o.queue[k-1] = m
			return true
		}
	}
	o.queue = append(o.queue, v)
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return true
}

// finish says nothing more comes: the channel closes once the subscriber
// has taken what is queued.
func (o *outbox[T]) finish() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = true
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// drop ends the subscription at once: what is queued is discarded and
// the channel closes.
func (o *outbox[T]) drop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropLocked()
}

func (o *outbox[T]) dropLocked() {
	if o.dropped {
		return
	}
	o.dropped = true
	o.queue, o.held = nil, 0
	close(o.stop)
}

// run feeds the channel.
func (o *outbox[T]) run() {
	defer close(o.out)
	for {
		o.mu.Lock()
		if o.dropped {
			o.mu.Unlock()
			return
		}
		if len(o.queue) == 0 {
			done := o.done
			o.queue = o.queue[:0]
			o.mu.Unlock()
			if done {
				return
			}
			select {
			case <-o.wake:
			case <-o.stop:
				return
			}
			continue
		}
		v := o.queue[0]
		var zero T
		o.queue[0] = zero
		o.queue = o.queue[1:]
		n := o.size(v) // still held until taken
		o.mu.Unlock()
		select {
		case o.out <- v:
			o.mu.Lock()
			if !o.dropped {
				o.held -= n
			}
			o.mu.Unlock()
		case <-o.stop:
			return
		}
	}
}
