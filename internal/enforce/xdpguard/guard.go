// Package xdpguard owns packet drop: an XDP program (a tcx ingress program
// where XDP cannot attach) on chosen interfaces drops ingress packets whose
// source address lies in a listed prefix, or, for prefixes only monitoring
// policies hold, passes them and counts them as would-drop. It is the
// IPS/DDoS mechanism the threat-intel feeds fill with blocklists.
//
// Nothing is reported per packet: a flood must not become a flood of
// records. The kernel counts instead, per prefix (Stats), per source
// address (TopSources, best effort) and per policy (pinned.State.Hits,
// action denied / would-deny).
//
// The prefix tables, the counters and the links are pinned under the pin
// directory, so the drop stays in force while no agent runs. The agent's
// order is Load, SetSources, then Attach for each interface: a link an
// earlier agent pinned is given the new program in place.
package xdpguard

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// Defaults of Options, from xdpguard.h.
const (
	DefaultMaxPrefixes = int(xdpguardXdpLimitsXDP_MAX_PREFIXES)
	DefaultMaxTalkers  = int(xdpguardXdpLimitsXDP_MAX_TALKERS)
)

// Options configure Load.
type Options struct {
	// PinDir is the enforcement pin directory (pinned.DefaultDir when
	// empty).
	PinDir string
	// MaxPrefixes bounds the listed prefixes, IPv4 and IPv6 together
	// (DefaultMaxPrefixes when 0). The per-prefix counters take 32 bytes
	// per prefix per CPU, allocated up front. Changing it recreates the
	// pinned tables (SetSources writes them again).
	MaxPrefixes int
	// MaxTalkers bounds the source addresses counted one by one
	// (DefaultMaxTalkers when 0); the least recently seen are forgotten.
	MaxTalkers int
	// Modes are the attachment modes Attach tries, in order (DefaultModes
	// when empty). Giving one mode forces it.
	Modes []Mode
}

// Guard holds the loaded programs and the pinned tables. Its methods may
// be called from several goroutines; two Guards (two processes) must not
// call SetSources on one pin directory at the same time.
type Guard struct {
	mu          sync.Mutex // serialises SetSources: slots are allocated from what the tries hold
	dir         string
	modes       []Mode
	maxPrefixes int
	objs        objects
}

// objects are what the Guard uses of the collection. enforce_hits is
// loaded (from its pin) because the programs refer to it; the ring and
// the other shared maps are not: these programs report nothing.
type objects struct {
	XDP      *ebpf.Program `ebpf:"xdp_guard"`
	TC       *ebpf.Program `ebpf:"tc_guard"`
	V4       *ebpf.Map     `ebpf:"xdp_src_v4"`
	V6       *ebpf.Map     `ebpf:"xdp_src_v6"`
	Classes  *ebpf.Map     `ebpf:"xdp_classes"`
	Counters *ebpf.Map     `ebpf:"xdp_counters"`
	Talkers  *ebpf.Map     `ebpf:"xdp_talkers"`
	Lost     *ebpf.Map     `ebpf:"xdp_lost"`
}

// Load loads the programs against the pin directory, adopting the tables
// and counters an earlier agent pinned. Nothing is attached yet.
func Load(opts Options) (*Guard, error) {
	g := &Guard{
		dir:         opts.PinDir,
		modes:       opts.Modes,
		maxPrefixes: opts.MaxPrefixes,
	}
	if g.dir == "" {
		g.dir = pinned.DefaultDir
	}
	if len(g.modes) == 0 {
		g.modes = DefaultModes()
	}
	for _, m := range g.modes {
		if !m.valid() {
			return nil, fmt.Errorf("mode %q: want one of %v", m, allModes())
		}
	}
	if g.maxPrefixes == 0 {
		g.maxPrefixes = DefaultMaxPrefixes
	}
	talkers := opts.MaxTalkers
	if talkers == 0 {
		talkers = DefaultMaxTalkers
	}
	if g.maxPrefixes < 1 || talkers < 1 {
		return nil, fmt.Errorf("max prefixes %d, max talkers %d: want at least 1", g.maxPrefixes, talkers)
	}

	spec, err := loadXdpguard()
	if err != nil {
		return nil, err
	}
	for _, name := range []string{xdpguardMapXdpSrcV4, xdpguardMapXdpSrcV6, xdpguardMapXdpCounters} {
		spec.Maps[name].MaxEntries = uint32(g.maxPrefixes)
	}
	spec.Maps[xdpguardMapXdpTalkers].MaxEntries = uint32(talkers)
	if err := pinned.Load(g.dir, spec, nil, &g.objs); err != nil {
		return nil, fmt.Errorf("xdpguard: %w", err)
	}
	// a class map created anew next to adopted tries (an older layout
	// replaced) must not hide their prefixes from this Guard's program
	have, err := g.entries()
	if err == nil {
		_, err = g.coverClasses(classesOf(have))
	}
	if err != nil {
		_ = g.Close() // best effort: err is what failed
		return nil, fmt.Errorf("xdpguard: %w", err)
	}
	return g, nil
}

// Close releases the programs and tables; pinned links stay attached and
// keep dropping.
func (g *Guard) Close() error {
	var errs []error
	for _, c := range []interface{ Close() error }{g.objs.XDP, g.objs.TC, g.objs.V4, g.objs.V6,
		g.objs.Classes, g.objs.Counters, g.objs.Talkers, g.objs.Lost} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	g.objs = objects{}
	return errors.Join(errs...)
}

// Programs names the programs, for their run-time statistics (run count
// and run time, with kernel.bpf_stats_enabled on).
func (g *Guard) Programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{
		xdpguardProgXdpGuard: g.objs.XDP,
		xdpguardProgTcGuard:  g.objs.TC,
	}
}
