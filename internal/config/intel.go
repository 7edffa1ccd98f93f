package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Intel is the `intel:` section: threat-intelligence sources whose
// indicators the agent acts on (docs/intel.md).
type Intel struct {
	Sources []intel.SourceConfig
	// Interfaces are where the IP indicators of enforce-mode sources drop
	// packets (XDP); none drops no packets (connections are still refused).
	Interfaces []string
	// Scope limits what intel kills and denies to a cgroup or container
	// (and its descendants); the zero Scope is the whole host.
	Scope policy.Scope
	// MaxPacketPrefixes sizes the packet filter's source tables (0: the
	// larger of its default, 16384, and what the first set needs).
	MaxPacketPrefixes int
}

// MaxPacketPrefixesLimit bounds intel.max_packet_prefixes: the per-prefix
// counters take 32 bytes per prefix per CPU, allocated up front.
const MaxPacketPrefixesLimit = 1 << 22

// DefaultIntelInterval is how often a source is refreshed when its
// interval is not given.
const DefaultIntelInterval = time.Hour

// IntelPolicyPrefix starts the name of the policy each source becomes.
const IntelPolicyPrefix = "intel."

// IntelKinds are the source kinds, as the file and --intel write them.
var intelKinds = []intel.SourceKind{intel.KindMISPFeed, intel.KindMISP, intel.KindList, intel.KindKunai}

func (d *decoder) intel(n *yaml.Node, field string) Intel {
	var in Intel
	keys, ok := d.mapping(n, field, "sources", "interfaces", "scope", "max_packet_prefixes")
	if !ok {
		return in
	}
	if v := keys["max_packet_prefixes"]; v != nil {
		in.MaxPacketPrefixes = d.integer(v, field+".max_packet_prefixes", 1)
		if in.MaxPacketPrefixes > MaxPacketPrefixesLimit {
			d.errorf(v, field+".max_packet_prefixes", "%d is too large: want at most %d", in.MaxPacketPrefixes, MaxPacketPrefixesLimit)
		}
	}
	decodeKey(keys, field, "interfaces", &in.Interfaces, d.strings)
	decodeKey(keys, field, "scope", &in.Scope, d.scope)
	if in.Scope.Pods != nil {
		d.errorf(keys["scope"], field+".scope", "intel takes a cgroup or container scope, not Kubernetes pods")
	}
	if v := keys["sources"]; v != nil {
		names := map[string]int{}
		for i, item := range d.sequence(v, field+".sources") {
			f := fmt.Sprintf("%s.sources[%d]", field, i)
			s := d.intelSource(item, f)
			if prev, dup := names[s.Name]; dup && s.Name != "" {
				d.errorf(item, f+".name", "%q is also the name of sources[%d]: names are unique", s.Name, prev)
			}
			names[s.Name] = i
			in.Sources = append(in.Sources, s)
		}
	}
	return in
}

func (d *decoder) intelSource(n *yaml.Node, field string) intel.SourceConfig {
	s := intel.SourceConfig{Interval: DefaultIntelInterval, Mode: policy.Monitor, Severity: event.SeverityHigh,
		Column: -1, Source: fmt.Sprintf("%s:%d", d.file, n.Line)}
	keys, ok := d.mapping(n, field, "name", "kind", "url", "interval", "mode", "severity", "ca_file",
		"key_file", "key_env", "column", "warninglists", "max_growth")
	if !ok {
		return s
	}
	if v := keys["name"]; v == nil {
		d.errorf(n, field+".name", "missing: every source needs a name (name: circl-osint)")
	} else if s.Name = d.str(v, field+".name"); s.Name != "" {
		if err := ValidIntelName(s.Name); err != nil {
			d.errorf(v, field+".name", "%v", err)
		}
	}
	if v := keys["kind"]; v == nil {
		d.errorf(n, field+".kind", "missing: want one of %s", kindList())
	} else if k, err := parseIntelKind(d.str(v, field+".kind")); err != nil {
		d.errorf(v, field+".kind", "%v", err)
	} else {
		s.Kind = k
	}
	if v := keys["url"]; v == nil {
		d.errorf(n, field+".url", "missing: an http(s):// URL or a local path")
	} else {
		s.URL = d.str(v, field+".url")
	}
	if v := keys["interval"]; v != nil {
		if s.Interval = d.duration(v, field+".interval"); s.Interval > 0 && s.Interval < time.Second {
			d.errorf(v, field+".interval", "%s is too short: want at least 1s", s.Interval)
		}
	}
	if v := keys["mode"]; v != nil {
		if m, err := parseMode(d.str(v, field+".mode")); err != nil {
			d.errorf(v, field+".mode", "%v", err)
		} else {
			s.Mode = m
		}
	}
	decodeKey(keys, field, "severity", &s.Severity, d.severity)
	decodeKey(keys, field, "ca_file", &s.CAFile, d.str)
	decodeKey(keys, field, "key_file", &s.KeyFile, d.str)
	decodeKey(keys, field, "key_env", &s.KeyEnv, d.str)
	if s.KeyFile != "" && s.KeyEnv != "" {
		d.errorf(keys["key_env"], field+".key_env", "give key_file or key_env, not both")
	}
	if v := keys["column"]; v != nil {
		s.Column = d.integer(v, field+".column", 0)
	}
	decodeKey(keys, field, "warninglists", &s.Warninglists, d.strings)
	if v := keys["max_growth"]; v != nil {
		g, err := strconv.ParseFloat(d.str(v, field+".max_growth"), 64)
		if err != nil || g < 1 {
			d.errorf(v, field+".max_growth", "%q is not a growth factor: want a number of at least 1 (default 100)", v.Value)
		}
		s.MaxGrowth = g
	}
	if s.Kind != intel.KindMISP && (s.KeyFile != "" || s.KeyEnv != "") {
		d.errorf(n, field, "key_file and key_env are for kind misp (the REST API)")
	}
	return s
}

// ValidIntelName says why name cannot name an intel source, or nil: the
// source's policy is named intel.<name>.
func ValidIntelName(name string) error {
	if err := policy.ValidName(IntelPolicyPrefix + name); err != nil {
		return fmt.Errorf("%q is not a source name: want 1–50 lower-case letters, digits, '.', '_' or '-', starting and ending with a letter or digit", name)
	}
	return nil
}

func parseIntelKind(s string) (intel.SourceKind, error) {
	for _, k := range intelKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%q is not a source kind: want one of %s", s, kindList())
}

func kindList() string {
	var out []string
	for _, k := range intelKinds {
		out = append(out, string(k))
	}
	return strings.Join(out, ", ")
}

func parseMode(s string) (policy.Mode, error) {
	switch m := policy.Mode(s); m {
	case policy.Monitor, policy.Enforce:
		return m, nil
	}
	return "", fmt.Errorf("%q is not a mode: want monitor or enforce", s)
}

// IntelFlags are vigil run's --intel, --intel-mode and --intel-key-file.
type IntelFlags struct {
	// Sources are the --intel values: misp-feed=URL, misp=URL,
	// list=PATH|URL, kunai=PATH|URL.
	Sources []string
	Mode    string // monitor (default) or enforce
	KeyFile string // the MISP API key's file; VIGIL_MISP_KEY otherwise
}

// MISPKeyEnv is the environment variable --intel misp=URL reads its API
// key from when no --intel-key-file is given.
const MISPKeyEnv = "VIGIL_MISP_KEY"

// ApplyIntel adds the sources of the --intel flags to the file's. A flag
// never carries a key: a value with credentials in its URL is refused.
func (c *Config) ApplyIntel(f IntelFlags) error {
	mode := policy.Monitor
	if f.Mode != "" {
		m, err := parseMode(f.Mode)
		if err != nil {
			return fmt.Errorf("--intel-mode: %w", err)
		}
		mode = m
	}
	if f.KeyFile != "" && !hasMISP(f.Sources) {
		return fmt.Errorf("--intel-key-file: no --intel misp=URL to use it for")
	}
	taken := map[string]bool{}
	for _, s := range c.Intel.Sources {
		taken[s.Name] = true
	}
	for _, v := range f.Sources {
		kind, url, ok := strings.Cut(v, "=")
		k, err := parseIntelKind(kind)
		if !ok || err != nil || url == "" {
			return fmt.Errorf("--intel %q: want KIND=URL with KIND one of %s (e.g. list=/etc/vigil/bad-ips.txt)", v, kindList())
		}
		if hasUserinfo(url) {
			return fmt.Errorf("--intel %q: a URL with credentials: give the MISP key in %s or --intel-key-file", kind+"=…", MISPKeyEnv)
		}
		name := kind
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s-%d", kind, i)
		}
		taken[name] = true
		s := intel.SourceConfig{Name: name, Kind: k, URL: url, Interval: DefaultIntelInterval, Mode: mode,
			Severity: event.SeverityHigh, Column: -1, Source: "--intel"}
		if k == intel.KindMISP {
			if f.KeyFile != "" {
				s.KeyFile = f.KeyFile
			} else {
				s.KeyEnv = MISPKeyEnv
			}
		}
		c.Intel.Sources = append(c.Intel.Sources, s)
	}
	return nil
}

func hasMISP(values []string) bool {
	for _, v := range values {
		if strings.HasPrefix(v, string(intel.KindMISP)+"=") {
			return true
		}
	}
	return false
}

// hasUserinfo says whether an http(s) URL carries user:password@.
func hasUserinfo(url string) bool {
	rest, ok := strings.CutPrefix(url, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(url, "http://"); !ok {
			return false
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	return strings.Contains(host, "@")
}
