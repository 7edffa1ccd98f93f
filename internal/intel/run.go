package intel

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"
)

// source is one configured source at run time: its loader, its
// configured warninglists, its last good indicators and its status.
type source struct {
	cfg      SourceConfig
	opts     *Options
	loader   loader
	client   *http.Client
	interval time.Duration
	wls      []*wlDoc

	refreshing sync.Mutex // one refresh at a time
	mu         sync.Mutex // guards what follows
	status     SourceStatus
	good       *sourceSet
	goodCount  int
}

// wlDoc is one configured warninglist file with what makes its next
// fetch conditional.
type wlDoc struct {
	loc   string
	v     validator
	lists []*Warninglist
}

func newSource(cfg *SourceConfig, opts *Options) (*source, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("no URL or path")
	}
	client := opts.HTTPClient
	if client == nil {
		var err error
		if client, err = newHTTPClient(cfg.CAFile, opts.Timeout); err != nil {
			return nil, err
		}
	}
	if cfg.MaxGrowth <= 0 {
		cfg.MaxGrowth = 100
	}
	s := &source{cfg: *cfg, opts: opts, client: client, interval: cfg.Interval}
	if s.interval <= 0 {
		s.interval = opts.DefaultInterval
	}
	e := env{cfg: &s.cfg, client: client, maxBytes: opts.MaxBytes, concurrency: opts.Concurrency}
	switch cfg.Kind {
	case KindMISPFeed:
		s.loader = &feedLoader{env: e}
	case KindMISP:
		if !isRemote(cfg.URL) {
			return nil, fmt.Errorf("a MISP API source needs an http(s) URL, not %q", cfg.URL)
		}
		s.loader = &restLoader{env: e, pageSize: opts.PageSize, fullEvery: opts.FullEvery, maxInds: opts.MaxIndicators}
	case KindList:
		s.loader = &docLoader{env: e, parse: func(b []byte) (parsed, error) { return parseList(b, s.cfg.Column, s.cfg.Name, s.docName()) }}
	case KindKunai:
		s.loader = &docLoader{env: e, parse: func(b []byte) (parsed, error) { return parseKunai(b, s.cfg.Name, s.docName()) }}
	default:
		return nil, fmt.Errorf("kind %q: want %s, %s, %s or %s", cfg.Kind, KindMISPFeed, KindMISP, KindList, KindKunai)
	}
	for _, loc := range cfg.Warninglists {
		s.wls = append(s.wls, &wlDoc{loc: loc})
	}
	s.status = SourceStatus{Name: cfg.Name, Kind: cfg.Kind, URL: Redact(cfg.URL), Mode: cfg.Mode,
		Loaded: map[Type]int{}, FailuresByReason: map[string]uint64{}}
	return s, nil
}

// docName is how errors name the source's document.
func (s *source) docName() string { return Redact(s.cfg.URL) }

// snapshot is a copy of the live status.
func (s *source) snapshot() SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Loaded = maps.Clone(st.Loaded)
	st.FailuresByReason = maps.Clone(st.FailuresByReason)
	st.Skipped = maps.Clone(st.Skipped)
	return st
}

// current is the last good indicators, nil before the first.
func (s *source) current() *sourceSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.good
}

// refresh reads the source; changed says a new set was made. A refused
// refresh is counted and leaves the last good set.
func (s *source) refresh(ctx context.Context) (changed bool, err error) {
	s.refreshing.Lock()
	defer s.refreshing.Unlock()
	now := s.opts.Now()
	s.mu.Lock()
	s.status.LastAttempt = now
	s.mu.Unlock()

	set, unchanged, err := s.read(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		err = fail(s.cfg.Name, ReasonMalformed, "", err)
		s.status.Failures++
		s.status.FailuresByReason[reasonOf(err)]++
		s.status.LastError = err.Error()
		return false, err
	}
	s.status.LastError = ""
	s.status.LastSuccess = now
	s.status.Refreshes++
	if unchanged {
		s.status.Unchanged++
		return false, nil
	}
	s.status.Loaded = set.status.Loaded
	s.status.Skipped = set.status.Skipped
	s.status.Bytes = set.status.Bytes
	set.status = s.status
	set.status.Loaded = maps.Clone(s.status.Loaded)
	set.status.FailuresByReason = maps.Clone(s.status.FailuresByReason)
	s.good, s.goodCount = set, set.count
	return true, nil
}

// read loads, filters, checks and indexes; unchanged when neither the
// source nor its warninglists changed.
func (s *source) read(ctx context.Context) (*sourceSet, bool, error) {
	res, err := s.loader.load(ctx)
	if err != nil {
		return nil, false, err
	}
	wls, wlChanged, commitWL, err := s.loadWarninglists(ctx)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	haveGood, last := s.good != nil, s.goodCount
	s.mu.Unlock()
	if res.unchanged && !wlChanged && haveGood {
		res.commit()
		return nil, true, nil
	}
	a, err := admit(&s.cfg, res.cands, res.skipped, append(res.shipped, wls...), s.opts.MaxIndicators)
	if err != nil {
		return nil, false, err
	}
	if last > 0 && float64(len(a.inds)) > s.cfg.MaxGrowth*float64(last) {
		return nil, false, &RefreshError{Reason: ReasonGrowth,
			Err: fmt.Errorf("%d indicators, more than %g times the %d in force", len(a.inds), s.cfg.MaxGrowth, last)}
	}
	res.commit()
	commitWL()
	x := buildIndex(a.inds)
	loaded := map[Type]int{}
	for t, l := range x.sorted {
		loaded[t] = len(l)
	}
	return &sourceSet{index: x, count: len(a.inds),
		status: SourceStatus{Loaded: loaded, Skipped: a.skipped, Bytes: x.bytes}}, false, nil
}

// loadWarninglists reads the configured warninglists (conditionally);
// commit keeps what was read once the refresh is accepted.
func (s *source) loadWarninglists(ctx context.Context) ([]*Warninglist, bool, func(), error) {
	var (
		out     []*Warninglist
		changed bool
		commits []func()
	)
	for _, d := range s.wls {
		body, v, notModified, err := fetch(ctx, s.client, d.loc, d.v, s.opts.MaxBytes)
		if err != nil {
			return nil, false, nil, withWhere(err, "warninglist "+Redact(d.loc))
		}
		if notModified {
			out = append(out, d.lists...)
			continue
		}
		lists, err := ParseWarninglists(body)
		if err != nil {
			return nil, false, nil, withWhere(fail("", ReasonMalformed, "", err), "warninglist "+Redact(d.loc))
		}
		changed = true
		out = append(out, lists...)
		commits = append(commits, func() { d.v, d.lists = v, lists })
	}
	return out, changed, func() {
		for _, c := range commits {
			c()
		}
	}, nil
}
