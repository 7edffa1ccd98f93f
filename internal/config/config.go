// Package config reads vigil's configuration file (YAML): the outputs and
// their filters, the metrics endpoint, the local API socket, the rules
// (files and throttling), and sections other parts of vigil read
// (sensors, …). Every problem is reported with the file, the line and the
// field, and what would be valid; nothing is half-applied: Load returns a
// whole Config or an error.
package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/sensor/process"
)

// Defaults for what the file leaves out.
const (
	DefaultMetricsAddress = "127.0.0.1:9549"
	DefaultSocket         = "/run/vigil/vigil.sock"
	// DefaultDropsInterval is the shortest time between two drops
	// records (docs/events.md).
	DefaultDropsInterval = 10 * time.Second
)

// Config is the whole file.
type Config struct {
	// File is where it was read from.
	File    string
	Outputs []Output
	Metrics Metrics
	API     API
	Rules   Rules
	// Kubernetes says how to learn the node's pods.
	Kubernetes Kubernetes
	// Intel are the threat-intelligence sources (docs/intel.md).
	Intel Intel
	// Observe says which performance observers run (docs/observe.md).
	Observe observe.Config
	// Drops says how often what was lost is reported.
	Drops Drops
	// ProcessEnv says which environment variables exec events carry
	// (sensors.process.env).
	ProcessEnv process.Env
	// NetworkPayload says whether the network sensor looks at the first
	// bytes of every receive on an inet socket (net_payload;
	// sensors.network.payload); true by default.
	NetworkPayload bool
	// Sections holds the top-level sections other parts of vigil decode
	// themselves (sensors, policies, …), with their positions.
	Sections map[string]*yaml.Node
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	// Address is host:port to serve /metrics, /healthz and /readyz on;
	// empty serves nothing.
	Address string
	// AllowNonLoopback lets Address be something other than loopback.
	AllowNonLoopback bool
	// BPFStats switches on the kernel's run time accounting of BPF
	// programs (kernel.bpf_stats_enabled) while the agent runs.
	BPFStats bool
	// PodLabels are the pod labels (namespace, pod, workload) alert
	// metrics carry; none by default, for the series they multiply.
	PodLabels output.PodLabels
}

// API is the local control socket.
type API struct {
	// Socket is the unix socket path; "" disables the API.
	Socket string
	// ReadGroup names a group whose members may read the API (status,
	// event streams, the policy list); ReadGID is its number, 0 for none.
	ReadGroup string
	ReadGID   int
}

// Drops tunes the drops records: the reports of what was lost, written
// to every output and to the log (docs/events.md).
type Drops struct {
	// Interval is the shortest time between two records; 0 writes none
	// (the log warning stays).
	Interval time.Duration
}

// sections other parts of vigil own; the file may carry them.
func otherSections() []string {
	return []string{"sensors", "policies", "enforce"}
}

// Default is the configuration without a file: the metrics and API
// defaults and no outputs (the command line adds stdout).
func Default() *Config {
	return &Config{API: API{Socket: DefaultSocket}, Drops: Drops{Interval: DefaultDropsInterval},
		ProcessEnv: process.DefaultEnv(), NetworkPayload: true, Sections: map[string]*yaml.Node{}}
}

// Load reads and checks a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse checks the YAML in data; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	c := Default()
	c.File = file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return c, nil // an empty file is the defaults
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var extra yaml.Node
	if dec.Decode(&extra) != io.EOF {
		return nil, fmt.Errorf("%s:%d: a second YAML document: keep the whole configuration in one", file, extra.Line)
	}
	d := &decoder{file: file}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return c, nil
	}
	allowed := append([]string{"outputs", "metrics", "api", "rules", "kubernetes", "intel", "observe", "drops"}, otherSections()...)
	top, ok := d.mapping(root, "", allowed...)
	if !ok {
		return nil, d.err()
	}
	decodeKey(top, "", "outputs", &c.Outputs, d.outputs)
	decodeKey(top, "", "metrics", &c.Metrics, d.metrics)
	decodeKey(top, "", "api", &c.API, d.api)
	c.Rules.file = file
	decodeKey(top, "", "rules", &c.Rules, d.rules)
	decodeKey(top, "", "kubernetes", &c.Kubernetes, d.kubernetes)
	decodeKey(top, "", "intel", &c.Intel, d.intel)
	decodeKey(top, "", "observe", &c.Observe, d.observeSection)
	decodeKey(top, "", "drops", &c.Drops, d.drops)
	c.ProcessEnv = d.processEnv(top["sensors"])
	c.NetworkPayload = d.networkPayload(top["sensors"])
	for _, name := range otherSections() {
		if n := top[name]; n != nil {
			c.Sections[name] = n
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func (d *decoder) metrics(n *yaml.Node, field string) Metrics {
	m := Metrics{}
	f, ok := d.mapping(n, field, "address", "allow_non_loopback", "bpf_stats", "k8s_labels")
	if !ok {
		return m
	}
	if v := f["address"]; v != nil {
		m.Address = metrics.LoopbackByDefault(d.str(v, field+".address"))
	}
	decodeKey(f, field, "allow_non_loopback", &m.AllowNonLoopback, d.boolean)
	decodeKey(f, field, "bpf_stats", &m.BPFStats, d.boolean)
	if v := f["k8s_labels"]; v != nil {
		l, err := metrics.ParsePodLabels(d.strings(v, field+".k8s_labels"))
		if err != nil {
			d.errorf(v, field+".k8s_labels", "%v", err)
		}
		m.PodLabels = l
	}
	if m.Address != "" {
		if err := metrics.CheckAddress(m.Address, m.AllowNonLoopback); err != nil {
			d.errorf(f["address"], field+".address", "%v", err)
		}
	}
	return m
}

func (d *decoder) drops(n *yaml.Node, field string) Drops {
	c := Drops{Interval: DefaultDropsInterval}
	f, ok := d.mapping(n, field, "interval")
	if !ok {
		return c
	}
	decodeKey(f, field, "interval", &c.Interval, d.duration)
	return c
}

func (d *decoder) api(n *yaml.Node, field string) API {
	a := API{Socket: DefaultSocket}
	f, ok := d.mapping(n, field, "socket", "read_group")
	if !ok {
		return a
	}
	decodeKey(f, field, "socket", &a.Socket, d.str)
	if v := f["read_group"]; v != nil {
		a.ReadGroup = d.str(v, field+".read_group")
		gid, err := LookupReadGroup(a.ReadGroup)
		if err != nil {
			d.errorf(v, field+".read_group", "%v", err)
		}
		a.ReadGID = gid
	}
	return a
}

// LookupReadGroup resolves the API's read group, by name or number.
func LookupReadGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if g, err = user.LookupGroupId(name); err != nil {
			return 0, fmt.Errorf("%q is not a group of this host (by name or number)", name)
		}
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("group %q has gid %q, not a number", name, g.Gid)
	}
	if gid == 0 {
		return 0, fmt.Errorf("group %q is root's group: root may always read; name a group for the others who should", name)
	}
	return gid, nil
}
