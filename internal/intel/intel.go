// Package intel turns threat-intelligence sources (MISP feeds, the MISP
// REST API, plain IOC lists, MISP's kunai export) into immutable indicator
// sets: the agent feeds their hashes and addresses to the kernel's exec and
// network guards and matches the rest (md5/sha1, domains) in user space.
// It fetches and parses; it knows nothing of the kernel, rules or outputs.
package intel

import (
	"net/netip"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Type is what an indicator names, after normalisation of MISP's
// attribute types.
type Type string

// The indicator types. MISP's composite types split into these:
// `filename|sha256` is a TypeSHA256, `ip-dst|port` a TypeIP with a port,
// `domain|ip` one TypeDomain and one TypeIP, `url` the TypeDomain (or
// TypeIP) of its host.
const (
	TypeMD5    Type = "md5"
	TypeSHA1   Type = "sha1"
	TypeSHA256 Type = "sha256"
	TypeSHA512 Type = "sha512"
	TypeIP     Type = "ip"     // an address or a prefix (CIDR), any family
	TypeDomain Type = "domain" // a domain or host name
)

// Provenance says where an indicator came from; alerts and kills caused
// by it carry all of it. Indicators of one MISP event share one value.
type Provenance struct {
	Source        string   // the configured source's name
	EventUUID     string   // MISP event; empty for plain lists
	EventInfo     string   // MISP event's info line
	AttributeUUID string   // MISP attribute; empty for plain lists
	AttributeType string   // as the feed gave it: "ip-dst|port", "sha256"
	Value         string   // as the feed gave it
	Tags          []string // event and attribute tags: "tlp:white", "misp-galaxy:…"
	Techniques    []string // MITRE ATT&CK ids found in the tags ("T1059.004")
}

// Indicator is one actionable IOC (to_ids set, not on a warninglist).
type Indicator struct {
	Type Type
	// Value is normalised: hashes in lower-case hex, domains in lower
	// case without the final dot, addresses and prefixes in netip's form.
	Value  string
	Prefix netip.Prefix // TypeIP only; a single address is a /32 or /128
	Port   uint16       // TypeIP only; 0 is any port
	Prov   *Provenance
	// Mode and Severity are the source's.
	Mode     policy.Mode
	Severity event.Severity
}

// SourceKind is the format a source is read in.
type SourceKind string

// The source kinds.
const (
	KindMISPFeed SourceKind = "misp-feed" // manifest.json + <uuid>.json per event
	KindMISP     SourceKind = "misp"      // POST /attributes/restSearch
	KindList     SourceKind = "list"      // one IOC a line, or CSV with a column
	KindKunai    SourceKind = "kunai"     // MISP's kunai export
)

// SourceConfig is one configured source. internal/config fills it from
// the config file's `intel:` section and `vigil run --intel`.
type SourceConfig struct {
	Name     string
	Kind     SourceKind
	URL      string // http(s)://… or a local path (file or feed directory)
	Interval time.Duration
	Mode     policy.Mode
	Severity event.Severity
	// CAFile is a PEM bundle trusted for the source's TLS, besides the
	// system's.
	CAFile string
	// KeyFile or KeyEnv hold the MISP API key (never in the config
	// itself, never logged).
	KeyFile string
	KeyEnv  string
	// Column is the CSV column (0-based) a list's IOCs are in; -1 for
	// one IOC a line.
	Column int
	// Warninglists are MISP warninglist files (paths or URLs) whose
	// entries are never acted on, besides those a feed ships.
	Warninglists []string
	// MaxGrowth refuses a refresh with more than MaxGrowth times the
	// indicators of the last good one (0: the default, 100).
	MaxGrowth float64
	// Source is where the source was configured ("file:line" or "--intel").
	Source string
}

// SourceStatus is what `vigil intel stats` and the metrics report of a
// source.
type SourceStatus struct {
	Name        string
	Kind        SourceKind
	URL         string // credentials removed
	Mode        policy.Mode
	Loaded      map[Type]int
	LastAttempt time.Time
	LastSuccess time.Time // of the set in force
	LastError   string    // of the last attempt, "" when it succeeded
	Refreshes   uint64    // successful refreshes, unchanged ones included
	Failures    uint64
	Unchanged   uint64 // 304 Not Modified, or the same content
	Bytes       int64  // memory the source's indicators hold, estimated
	// FailuresByReason counts the refused refreshes by reason
	// (ReasonUnreachable, ReasonMalformed, …).
	FailuresByReason map[string]uint64
	// Skipped counts the values of the set in force left out, by why:
	// "warninglist", "never_act", "not_to_ids", "type" (a MISP type
	// vigil does not act on).
	Skipped map[string]int
}

// Set is an immutable snapshot of every source's indicators; readers on
// any goroutine may use it without locks. A refresh builds a new Set and
// swaps it in whole, so there is never a moment when neither the old nor
// the new list is in force.
//
// The methods below are the contract between the feeds (this package) and
// their users (internal/agent, internal/enforce, cmd/vigil).
//
//	func (s *Set) Len() int
//	func (s *Set) Sources() []SourceStatus
//	// Hash returns the indicators for a digest of type t (md5, sha1,
//	// sha256, sha512) in lower-case hex; none when it is not listed.
//	func (s *Set) Hash(t Type, digest string) []*Indicator
//	// IP returns the indicators whose prefix holds a and whose port is
//	// 0 or port (port 0 asks for every port).
//	func (s *Set) IP(a netip.Addr, port uint16) []*Indicator
//	// Domain returns the indicators for name or one of its parent
//	// domains (a listed domain covers its subdomains).
//	func (s *Set) Domain(name string) []*Indicator
//	// Each calls fn for every indicator of type t until fn returns
//	// false, in a stable order: the agent feeds the kernel's tables
//	// from it.
//	func (s *Set) Each(t Type, fn func(*Indicator) bool)
//
// The Manager runs the sources:
//
//	func NewManager(cfgs []SourceConfig, opts Options) (*Manager, error)
//	func (m *Manager) Run(ctx context.Context)        // refresh loops until ctx ends
//	func (m *Manager) Current() *Set                  // never nil
//	func (m *Manager) Subscribe(fn func(*Set))        // called after each swap, in order
//	func (m *Manager) Refresh(ctx context.Context, name string) error
//	func (m *Manager) Status() []SourceStatus
//	func (m *Manager) Collector() prometheus.Collector // the intel metrics
//
// Options carries the logger (log/slog), the Prometheus registerer for the
// intel metrics, and an optional clock and HTTP client for tests.
type Set struct {
	sources []*sourceSet // in configuration order
	// changed is the source whose refresh made this set ("": none, the
	// empty set before the first refresh)
	changed string
}

// Changed names the source whose refresh made this set: the others'
// indicators are those of the set before it. "" for the first, empty set.
func (s *Set) Changed() string {
	if s == nil {
		return ""
	}
	return s.changed
}
