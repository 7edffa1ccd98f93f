package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
)

// restLoader pulls a MISP instance's attributes with restSearch. The first
// pull and every fullEvery-th after it are full; the others ask only for
// attributes changed since the newest timestamp seen (`timestamp`, with
// `deleted: [0, 1]` so deletions come too) and merge them: an attribute
// deleted or no longer to_ids leaves the set. A full pull catches what an
// incremental one cannot see (an event unpublished, an attribute whose
// to_ids was cleared: restSearch filters on to_ids).
type restLoader struct {
	env
	pageSize  int
	fullEvery int
	maxInds   int

	attrs map[string][]*Indicator // by attribute uuid
	since int64
	pulls int
}

// restResponse is restSearch's answer; an empty one may be
// `{"response": []}`.
type restResponse struct {
	Response json.RawMessage `json:"response"`
}

type restAttributes struct {
	Attribute []mispAttribute `json:"Attribute"`
}

// apiKey reads the key from the key file or the environment; errors say
// where it was looked for, never what it is.
func apiKey(cfg *SourceConfig) (string, error) {
	if cfg.KeyFile != "" {
		raw, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return "", &RefreshError{Reason: ReasonConfig, Err: fmt.Errorf("MISP key file: %w", err)}
		}
		if k := strings.TrimSpace(string(raw)); k != "" {
			return k, nil
		}
		return "", &RefreshError{Reason: ReasonConfig, Err: fmt.Errorf("MISP key file %s is empty", cfg.KeyFile)}
	}
	name := cfg.KeyEnv
	if name == "" {
		name = "VIGIL_MISP_KEY"
	}
	if k := strings.TrimSpace(os.Getenv(name)); k != "" {
		return k, nil
	}
	return "", &RefreshError{Reason: ReasonConfig, Err: fmt.Errorf("no MISP API key: set $%s or a key file", name)}
}

func (r *restLoader) load(ctx context.Context) (loadResult, error) {
	key, err := apiKey(r.cfg)
	if err != nil {
		return loadResult{}, err
	}
	full := r.attrs == nil || r.fullEvery <= 1 || r.pulls%r.fullEvery == 0
	attrs := map[string][]*Indicator{}
	if !full {
		attrs = maps.Clone(r.attrs)
	}
	since, changed := r.since, false
	for page := 1; ; page++ {
		got, err := r.page(ctx, key, page, full)
		if err != nil {
			return loadResult{}, err
		}
		for i := range got {
			a := &got[i]
			if a.UUID == "" {
				return loadResult{}, &RefreshError{Reason: ReasonMalformed, Where: fmt.Sprintf("restSearch page %d attribute %d", page, i), Err: errors.New("attribute has no uuid")}
			}
			since = max(since, int64(a.Timestamp))
			ev := &eventContext{source: r.cfg.Name}
			if a.Event != nil {
				ev.uuid, ev.info, ev.galaxy = a.Event.UUID, a.Event.Info, a.Event.Galaxy
			}
			var p parsed
			if err := p.addAttribute(ev, a); err != nil {
				return loadResult{}, &RefreshError{Reason: ReasonMalformed, Where: fmt.Sprintf("restSearch page %d event %s", page, ev.uuid), Err: err}
			}
			if _, had := r.attrs[a.UUID]; full || !had || int64(a.Timestamp) > r.since {
				changed = true // restSearch's timestamp is inclusive: the newest come again
			}
			if len(p.inds) == 0 {
				delete(attrs, a.UUID)
				continue
			}
			attrs[a.UUID] = p.inds
		}
		if r.maxInds > 0 && len(attrs) > r.maxInds {
			return loadResult{}, &RefreshError{Reason: ReasonTooMany, Err: fmt.Errorf("more than %d attributes (the per-source cap)", r.maxInds)}
		}
		if len(got) < r.pageSize {
			break
		}
	}
	res := loadResult{cands: []*Indicator{}, unchanged: !full && !changed}
	for _, uuid := range slices.Sorted(maps.Keys(attrs)) {
		res.cands = append(res.cands, attrs[uuid]...)
	}
	res.commit = func() { r.attrs, r.since = attrs, since; r.pulls++ }
	return res, nil
}

// page asks restSearch for one page.
func (r *restLoader) page(ctx context.Context, key string, page int, full bool) ([]mispAttribute, error) {
	q := map[string]any{
		"returnFormat": "json", "to_ids": 1, "published": 1, "enforceWarninglist": 1,
		"includeEventUuid": 1, "includeEventTags": 1, "limit": r.pageSize, "page": page,
	}
	if !full && r.since > 0 {
		q["timestamp"] = r.since
		q["deleted"] = []int{0, 1}
	}
	body, _ := json.Marshal(q)
	loc := join(r.cfg.URL, "attributes/restSearch")
	where := fmt.Sprintf("%s page %d", Redact(loc), page)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loc, bytes.NewReader(body))
	if err != nil {
		return nil, &RefreshError{Reason: ReasonConfig, Err: fmt.Errorf("URL %s: %w", Redact(loc), err)}
	}
	req.Header.Set("Authorization", key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, unreachable(loc, err)
	}
	defer func() { _ = resp.Body.Close() }() // read whole or given up
	if resp.StatusCode != http.StatusOK {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (is the API key right, and allowed to search?)"
		}
		return nil, &RefreshError{Reason: ReasonHTTP, Where: where, Err: fmt.Errorf("HTTP %s%s", resp.Status, hint)}
	}
	raw, err := readBody(resp, r.maxBytes)
	if err != nil {
		return nil, withWhere(err, where)
	}
	var rr restResponse
	if err := json.Unmarshal(raw, &rr); err != nil {
		e := jsonError(raw, err).(*RefreshError)
		e.Where = where + " " + e.Where
		return nil, e
	}
	if t := bytes.TrimSpace(rr.Response); len(t) == 0 || t[0] == '[' {
		if len(t) == 0 {
			return nil, &RefreshError{Reason: ReasonMalformed, Where: where, Err: errors.New(`no "response"`)}
		}
		return nil, nil // MISP's empty answer
	}
	var attrs restAttributes
	if err := json.Unmarshal(rr.Response, &attrs); err != nil {
		e := jsonError(rr.Response, err).(*RefreshError)
		e.Where = where + " response " + e.Where
		return nil, e
	}
	return attrs.Attribute, nil
}
