package tui

import (
	"io"
	"sync"
)

// gate passes terminal output through while open and holds it (up to
// 256 KiB) while the menu is shown.
type gate struct {
	mu     sync.Mutex
	out    io.Writer
	held   []byte
	paused bool
	done   chan struct{}
	once   sync.Once
}

func newGate(out io.Writer) *gate { return &gate{out: out, paused: true, done: make(chan struct{})} }

func (g *gate) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		if len(g.held)+len(b) <= 256<<10 {
			g.held = append(g.held, b...)
		}
		return len(b), nil
	}
	return g.out.Write(b)
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paused = false
	g.out.Write(g.held)
	g.held = nil
}

func (g *gate) pause() {
	g.mu.Lock()
	g.paused = true
	g.mu.Unlock()
}

func (g *gate) closed() { g.once.Do(func() { close(g.done) }) }
