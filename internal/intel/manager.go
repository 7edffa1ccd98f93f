package intel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options tune a Manager; the zero value works.
type Options struct {
	Logger *slog.Logger
	// Registerer, when set, gets the intel metrics (Manager.Collector).
	Registerer prometheus.Registerer
	// Now is the clock (time.Now).
	Now func() time.Time
	// HTTPClient replaces every source's own client (whose TLS trusts
	// the source's CAFile): for tests.
	HTTPClient *http.Client
	// Timeout bounds one refresh (2 minutes).
	Timeout time.Duration
	// MaxIndicators caps one source's indicators (2,000,000): a refresh
	// with more is refused.
	MaxIndicators int
	// MaxBytes caps one document (1 GiB).
	MaxBytes int64
	// Concurrency is how many event files of a MISP feed are fetched at
	// once (4).
	Concurrency int
	// PageSize is restSearch's page (5000); FullEvery makes every n-th
	// pull of the MISP API a full one (24; 1: always full).
	PageSize, FullEvery int
	// DefaultInterval is a source's interval when it gives none (1 h).
	DefaultInterval time.Duration
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MaxIndicators <= 0 {
		o.MaxIndicators = 2_000_000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.PageSize <= 0 {
		o.PageSize = 5000
	}
	if o.FullEvery <= 0 {
		o.FullEvery = 24
	}
	if o.DefaultInterval <= 0 {
		o.DefaultInterval = time.Hour
	}
}

// Manager runs the sources and holds the Set in force.
type Manager struct {
	opts    Options
	sources []*source
	started time.Time

	cur  atomic.Pointer[Set]
	mu   sync.Mutex // orders swaps and their subscribers
	subs []func(*Set)
}

// NewManager checks the sources and makes their loaders; nothing is
// fetched before Run or Refresh.
func NewManager(cfgs []SourceConfig, opts Options) (*Manager, error) {
	opts.defaults()
	m := &Manager{opts: opts, started: opts.Now()}
	seen := map[string]bool{}
	for i := range cfgs {
		cfg := cfgs[i]
		if cfg.Name == "" {
			return nil, fmt.Errorf("intel source %d (%s): no name", i, cfg.Source)
		}
		if seen[cfg.Name] {
			return nil, fmt.Errorf("intel source %s (%s): the name is taken", cfg.Name, cfg.Source)
		}
		seen[cfg.Name] = true
		s, err := newSource(&cfg, &m.opts)
		if err != nil {
			return nil, fmt.Errorf("intel source %s (%s): %w", cfg.Name, cfg.Source, err)
		}
		m.sources = append(m.sources, s)
	}
	m.cur.Store(&Set{})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(m.Collector()); err != nil {
			return nil, fmt.Errorf("register intel metrics: %w", err)
		}
	}
	return m, nil
}

// Current is the Set in force; never nil.
func (m *Manager) Current() *Set { return m.cur.Load() }

// Subscribe calls fn with each new Set after it is swapped in, in order,
// on the refreshing goroutine; fn must not call Refresh.
func (m *Manager) Subscribe(fn func(*Set)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs = append(m.subs, fn)
}

// Status is every source's live status, in configuration order: unlike
// Set.Sources it includes refreshes that left the set as it was.
func (m *Manager) Status() []SourceStatus {
	out := make([]SourceStatus, len(m.sources))
	for i, s := range m.sources {
		out[i] = s.snapshot()
	}
	return out
}

// ErrNoSource is Refresh's answer for a name no source has.
var ErrNoSource = errors.New("no such intel source")

// Refresh refreshes the named source now ("" refreshes all, in order)
// and returns why it was refused, if it was.
func (m *Manager) Refresh(ctx context.Context, name string) error {
	var errs []error
	found := false
	for _, s := range m.sources {
		if name == "" || s.cfg.Name == name {
			found = true
			errs = append(errs, m.refresh(ctx, s))
		}
	}
	if !found {
		return fmt.Errorf("%w: %q", ErrNoSource, name)
	}
	return errors.Join(errs...)
}

// Run refreshes every source at once, then each on its interval (with up
// to a tenth of it as jitter), until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range m.sources {
		wg.Go(func() {
			for {
				_ = m.refresh(ctx, s) // logged and counted
				wait := s.interval + rand.N(s.interval/10+1)
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
}

// refresh runs one refresh of s and swaps a new Set in when it changed.
func (m *Manager) refresh(ctx context.Context, s *source) error {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	changed, err := s.refresh(ctx)
	if err != nil {
		m.opts.Logger.Warn("intel refresh refused; the last good set stays",
			"source", s.cfg.Name, "reason", reasonOf(err), "error", err.Error())
		return err
	}
	if changed {
		m.swap(s.cfg.Name)
		st := s.snapshot()
		m.opts.Logger.Info("intel source refreshed", "source", s.cfg.Name, "indicators", total(st.Loaded), "bytes", st.Bytes)
	}
	return nil
}

// swap builds a Set of every source's last good indicators, stores it,
// and tells the subscribers.
func (m *Manager) swap(changed string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := &Set{changed: changed}
	for _, s := range m.sources {
		if g := s.current(); g != nil {
			set.sources = append(set.sources, g)
		}
	}
	m.cur.Store(set)
	for _, fn := range m.subs {
		fn(set)
	}
}

func total(m map[Type]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
