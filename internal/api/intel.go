package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// The intel endpoints:
//
//	GET  /v1/intel                 IntelReport as JSON
//	GET  /v1/intel/check?value=V   IntelCheck as JSON: would V hit?
//	POST /v1/intel/refresh?name=N  refresh source N now (no name: all)

// Intel is what the agent tells of its threat-intelligence sources.
type Intel interface {
	IntelReport() IntelReport
	IntelCheck(value string) IntelCheck
	IntelRefresh(ctx context.Context, name string) error
}

// IntelReport is the sources as the agent runs them.
type IntelReport struct {
	Sources []IntelSource `json:"sources"`
	// Indicators is how many the set in force holds, all sources.
	Indicators int `json:"indicators"`
	// ApplyError says why the kernel's tables did not take the last set
	// (the previous one stays in force); "" when they did.
	ApplyError string `json:"apply_error,omitempty"`
	// Interfaces are where IP indicators drop packets.
	Interfaces []string `json:"interfaces,omitempty"`
	// Scope is where intel acts ("host", "cgroup …").
	Scope string          `json:"scope"`
	Hits  []IntelHitCount `json:"hits,omitempty"`
	// Hashed counts binaries read for md5/sha1/sha512 matching;
	// HashDropped execs left unchecked (the queue was full).
	Hashed      uint64 `json:"hashed"`
	HashDropped uint64 `json:"hash_dropped"`
	// DNSSuppressed counts DNS alerts for listed domains held back by
	// the per (process, domain) throttle; ApplyFailures the sets the
	// kernel's tables refused.
	DNSSuppressed uint64 `json:"dns_suppressed"`
	ApplyFailures uint64 `json:"apply_failures"`
	// Packets are the packet filter's counts for the sources' prefixes,
	// each with the indicator that listed it.
	Packets []IntelPacketCount `json:"packets,omitempty"`
}

// IntelPacketCount is what the packet filter did with the packets from
// one listed prefix, and which indicator of which source listed it.
type IntelPacketCount struct {
	Prefix    string           `json:"prefix"`
	Dropped   uint64           `json:"dropped"`
	WouldDrop uint64           `json:"would_drop"`
	Intel     event.IntelMatch `json:"intel"`
}

// IntelSource is one source.
type IntelSource struct {
	Name     string         `json:"name"`
	Kind     string         `json:"kind"`
	URL      string         `json:"url"` // credentials removed
	Mode     string         `json:"mode"`
	Severity string         `json:"severity"`
	Policy   string         `json:"policy"` // intel.<name>
	Source   string         `json:"source"` // where it was configured
	Interval string         `json:"interval"`
	Loaded   map[string]int `json:"loaded"` // by indicator type
	// LastAttempt and LastSuccess are zero when none happened yet.
	LastAttempt time.Time `json:"last_attempt"`
	LastSuccess time.Time `json:"last_success"`
	LastError   string    `json:"last_error,omitempty"`
	Refreshes   uint64    `json:"refreshes"`
	Failures    uint64    `json:"failures"`
	Unchanged   uint64    `json:"unchanged"`
	Bytes       int64     `json:"bytes"`
}

// IntelHitCount is vigil_intel_hits_total's count for a source, type
// and action.
type IntelHitCount struct {
	Source string `json:"source"`
	Type   string `json:"type"`
	Action string `json:"action"`
	Count  uint64 `json:"count"`
}

// IntelCheck says what the agent makes of a value: what it was read as,
// and the indicators it hits with what each would do.
type IntelCheck struct {
	Value string `json:"value"`
	// As is what the value was read as: md5, sha1, sha256, sha512, ip
	// (with Port when given), domain (a URL's host is one of these).
	As      string            `json:"as"`
	Port    uint16            `json:"port,omitempty"`
	Matches []IntelCheckMatch `json:"matches"`
}

// IntelCheckMatch is one indicator a checked value hits.
type IntelCheckMatch struct {
	event.IntelMatch
	Mode string `json:"mode"`
	// Action is what a hit does: "kill at exec (kernel)", "deny connect
	// and sendmsg (kernel)", "alert", …
	Action string `json:"action"`
}

// intelHandler serves an intel endpoint, or says the agent has no
// sources.
func (s *Server) intelHandler(h func(Intel, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Intel == nil {
			http.Error(w, "this agent runs without intel sources (vigil run --intel, or the config file's intel section)",
				http.StatusNotImplemented)
			return
		}
		h(s.opts.Intel, w, r)
	}
}

func (s *Server) intelReport(in Intel, w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, in.IntelReport())
}

func (s *Server) intelCheck(in Intel, w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("value")
	if v == "" {
		http.Error(w, "want ?value= a hash, an address, a domain or a URL", http.StatusBadRequest)
		return
	}
	writeJSON(w, in.IntelCheck(v))
}

func (s *Server) intelRefresh(in Intel, w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if err := in.IntelRefresh(r.Context(), name); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	writeJSON(w, map[string]string{"refreshed": name})
}

// IntelReport asks the agent for its intel sources.
func (c *Client) IntelReport(ctx context.Context) (IntelReport, error) {
	var rep IntelReport
	err := c.do(ctx, http.MethodGet, "/v1/intel", nil, &rep)
	return rep, err
}

// IntelCheck asks the agent whether value would hit an indicator.
func (c *Client) IntelCheck(ctx context.Context, value string) (IntelCheck, error) {
	var out IntelCheck
	if value == "" {
		return out, errors.New("nothing to check")
	}
	err := c.do(ctx, http.MethodGet, "/v1/intel/check?"+url.Values{"value": {value}}.Encode(), nil, &out)
	return out, err
}

// IntelRefresh has the agent refresh a source now ("" for all); a
// refused refresh comes back as its reason, and the last good set stays.
func (c *Client) IntelRefresh(ctx context.Context, name string) error {
	var out map[string]string
	return c.do(ctx, http.MethodPost, "/v1/intel/refresh?"+url.Values{"name": {name}}.Encode(), nil, &out)
}
