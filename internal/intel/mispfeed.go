package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// feedLoader reads a MISP feed directory: manifest.json (event uuid →
// its summary, with the event's timestamp), one <uuid>.json per event,
// and optionally warninglists.json (a JSON array of MISP warninglists
// the feed ships). Only the events whose timestamp changed are fetched
// again, a few at a time.
type feedLoader struct {
	env

	manifestV validator
	events    map[string]feedEvent
	wlV       validator
	shipped   []*Warninglist
}

type feedEvent struct {
	timestamp int64
	parsed    parsed
}

// manifestEntry is the part of a manifest entry vigil reads.
type manifestEntry struct {
	Timestamp flexInt `json:"timestamp"`
}

func (f *feedLoader) load(ctx context.Context) (loadResult, error) {
	wls, wlV, wlChanged, err := f.loadShipped(ctx)
	if err != nil {
		return loadResult{}, err
	}
	manifestURL := join(f.cfg.URL, "manifest.json")
	body, v, notModified, err := fetch(ctx, f.client, manifestURL, f.manifestV, f.maxBytes)
	if err != nil {
		return loadResult{}, err
	}
	if notModified && f.events != nil {
		res := f.assemble(f.events)
		res.shipped, res.unchanged = wls, !wlChanged
		res.commit = func() { f.wlV, f.shipped = wlV, wls }
		return res, nil
	}
	var manifest map[string]manifestEntry
	if err := json.Unmarshal(trimBOM(body), &manifest); err != nil {
		e := jsonError(body, err).(*RefreshError)
		e.Where = "manifest.json " + e.Where
		return loadResult{}, e
	}
	events, err := f.fetchEvents(ctx, manifest)
	if err != nil {
		return loadResult{}, err
	}
	res := f.assemble(events)
	res.shipped = wls
	res.commit = func() {
		f.manifestV, f.events, f.wlV, f.shipped = v, events, wlV, wls
	}
	return res, nil
}

// loadShipped reads the feed's warninglists.json; none is fine.
func (f *feedLoader) loadShipped(ctx context.Context) ([]*Warninglist, validator, bool, error) {
	body, v, notModified, err := fetch(ctx, f.client, join(f.cfg.URL, "warninglists.json"), f.wlV, f.maxBytes)
	switch {
	case isNotFound(err):
		return nil, validator{}, f.shipped != nil, nil
	case err != nil:
		return nil, v, false, err
	case notModified:
		return f.shipped, v, false, nil
	}
	wls, err := ParseWarninglists(body)
	if err != nil {
		return nil, v, false, withWhere(fail("", ReasonMalformed, "", err), "warninglists.json")
	}
	return wls, v, true, nil
}

// fetchEvents reads the events the manifest lists whose timestamp is
// not the one already read.
func (f *feedLoader) fetchEvents(ctx context.Context, manifest map[string]manifestEntry) (map[string]feedEvent, error) {
	events := make(map[string]feedEvent, len(manifest))
	var todo []string
	for _, uuid := range slices.Sorted(maps.Keys(manifest)) {
		if !isUUID(uuid) {
			return nil, &RefreshError{Reason: ReasonMalformed, Where: "manifest.json", Err: fmt.Errorf("key %q is not an event uuid", uuid)}
		}
		ts := int64(manifest[uuid].Timestamp)
		if old, ok := f.events[uuid]; ok && old.timestamp == ts && ts != 0 {
			events[uuid] = old
			continue
		}
		todo = append(todo, uuid)
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, max(1, f.concurrency))
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, uuid := range todo {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			file := uuid + ".json"
			body, _, _, err := fetch(ctx, f.client, join(f.cfg.URL, file), validator{}, f.maxBytes)
			var p parsed
			if err == nil {
				p, err = parseMISPEvent(body, f.cfg.Name, file)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = withWhere(err, file)
					cancel()
				}
				return
			}
			events[uuid] = feedEvent{timestamp: int64(manifest[uuid].Timestamp), parsed: p}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, &RefreshError{Reason: ReasonUnreachable, Err: err}
	}
	return events, nil
}

// assemble joins the events' candidates, in uuid order.
func (f *feedLoader) assemble(events map[string]feedEvent) loadResult {
	res := loadResult{cands: []*Indicator{}, skipped: map[string]int{}}
	for _, uuid := range slices.Sorted(maps.Keys(events)) {
		e := events[uuid]
		res.cands = append(res.cands, e.parsed.inds...)
		for k, n := range e.parsed.skipped {
			res.skipped[k] += n
		}
	}
	return res
}

// isUUID accepts what may name an event file: hex digits and dashes.
func isUUID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-') {
			return false
		}
	}
	return true
}
