package agent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) {
	if job := os.Getenv(iouringHelperEnv); job != "" {
		os.Exit(iouringHelper(job))
	}
	testenv.Main(m)
}

// collector is a sink that keeps every event for the test to search.
type collector struct {
	mu     sync.Mutex
	events []*event.Event
	drops  []*event.Drops
}

func (c *collector) Write(ev *event.Event) error {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
	return nil
}
func (c *collector) WriteAlert(*event.Alert) error { return nil }
func (c *collector) WriteDrops(d *event.Drops) error {
	c.mu.Lock()
	c.drops = append(c.drops, d)
	c.mu.Unlock()
	return nil
}
func (c *collector) Flush() error { return nil }
func (c *collector) Close() error { return nil }

func (c *collector) find(match func(*event.Event) bool) []*event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*event.Event
	for _, ev := range c.events {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// running is an agent under test.
type running struct {
	*Agent
	sink   *collector
	cancel context.CancelFunc
	done   chan error
}

// waitLimit bounds every wait for the agent to deliver something. It is
// not a timing assertion, only what keeps a broken agent from hanging the
// test: waits end as soon as the awaited thing arrives, and the CI
// machines are shared and loaded (load 10-20 on 2 cores): the one limit
// every package's tests share.
const waitLimit = testenv.WaitLimit

// start runs an agent in this process. The agent stops when the test ends,
// or earlier through stop.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	r := load(t, cfg)
	r.run()
	return r
}

// load starts an agent whose sensors are attached and write to the ring,
// but which does not read it until run.
func load(t *testing.T, cfg Config) *running {
	t.Helper()
	testenv.RequirePrivileged(t)
	sink := &collector{}
	if c, ok := cfg.Sink.(*collector); ok {
		sink = c
	}
	cfg.Sink = sink
	if cfg.Ring.Size == 0 {
		cfg.Ring = ring.DefaultConfig()
	}
	if cfg.ProcTree.MaxEntries == 0 {
		cfg.ProcTree = proctree.DefaultConfig()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	r := &running{Agent: a, sink: sink}
	t.Cleanup(func() {
		r.stop(t)
		if err := r.Close(); err != nil {
			t.Errorf("agent close: %v", err)
		}
	})
	return r
}

// run starts reading the ring (Agent.Run), until stop.
func (r *running) run() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.Agent.Run(ctx) }()
}

// stop ends the agent after it has delivered everything in the ring; its
// counters stay readable until the test ends.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("agent run: %v", err)
	}
}

// waitFor returns the first event that matches, failing the test if none
// arrives in time.
func (r *running) waitFor(t *testing.T, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if found := r.sink.find(match); len(found) > 0 {
			return found[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event within %v", what, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// execWithArg matches exec (or exit) events whose argv holds marker.
func withArg(kind event.Kind, marker string) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		if ev.Kind != kind || ev.Process == nil {
			return false
		}
		for _, a := range ev.Process.Args {
			if a == marker {
				return true
			}
		}
		return false
	}
}
