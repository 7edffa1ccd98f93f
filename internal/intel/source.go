package intel

import (
	"context"
	"crypto/sha256"
	"net/http"
)

// loadResult is one refresh's reading of a source: every candidate
// indicator of the source as it now stands (from cache for what did
// not change), the warninglists it ships, and commit, which makes the
// reading the base of the next refresh once the manager accepts it.
type loadResult struct {
	cands     []*Indicator
	skipped   map[string]int
	shipped   []*Warninglist
	unchanged bool
	commit    func()
}

// loader reads one kind of source.
type loader interface {
	load(ctx context.Context) (loadResult, error)
}

// env is what every loader needs of its source.
type env struct {
	cfg         *SourceConfig
	client      *http.Client
	maxBytes    int64
	concurrency int
}

// docLoader reads a source that is one document: a plain list, a CSV,
// a kunai file.
type docLoader struct {
	env
	parse func(data []byte) (parsed, error)

	v      validator
	digest [32]byte
	last   parsed
}

func (d *docLoader) load(ctx context.Context) (loadResult, error) {
	body, v, notModified, err := fetch(ctx, d.client, d.cfg.URL, d.v, d.maxBytes)
	if err != nil {
		return loadResult{}, err
	}
	if notModified {
		return loadResult{cands: d.last.inds, skipped: d.last.skipped, unchanged: true, commit: func() {}}, nil
	}
	sum := sha256.Sum256(body)
	if sum == d.digest && d.last.inds != nil {
		return loadResult{cands: d.last.inds, skipped: d.last.skipped, unchanged: true, commit: func() { d.v = v }}, nil
	}
	p, err := d.parse(body)
	if err != nil {
		return loadResult{}, err
	}
	if p.inds == nil {
		p.inds = []*Indicator{}
	}
	return loadResult{cands: p.inds, skipped: p.skipped, commit: func() {
		d.v, d.digest, d.last = v, sum, p
	}}, nil
}
