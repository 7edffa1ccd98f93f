package bpfload

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/ring"
)

// Object describes a kernel object to load whole and attach.
type Object struct {
	// Name names the object in errors: "process sensor".
	Name string
	Spec *ebpf.CollectionSpec
	// Knobs are const volatile globals to set before load, by name.
	Knobs map[string]any
	// Setup, when set, runs between load and attach: fill the maps the
	// programs read before they run.
	Setup func(*ebpf.Collection) error
	// Optional lets a tracepoint this kernel lacks go unattached (listed
	// by Loaded.Missing) instead of failing the load.
	Optional bool
}

// Loaded is a loaded object and its attachments.
type Loaded struct {
	Coll    *ebpf.Collection
	links   []link.Link
	missing []string
}

// Load loads o against r's ring buffer and attaches every program to the
// hook its section names ("tracepoint/syscalls/sys_exit_openat",
// "tp_btf/sched_process_exec"), in name order: the C file is the one
// list. On any failure everything loaded so far is closed.
func Load(r *ring.Ring, o Object) (*Loaded, error) {
	copts, err := Prepare(r, o.Spec, o.Knobs)
	if err != nil {
		return nil, err
	}
	coll, err := ebpf.NewCollectionWithOptions(o.Spec, *copts)
	if err != nil {
		return nil, Wrap("load "+o.Name, err)
	}
	l := &Loaded{Coll: coll}
	if o.Setup != nil {
		err = o.Setup(coll)
	}
	if err == nil {
		err = l.attach(o.Spec, o.Optional)
	}
	if err != nil {
		_ = l.Close() // best effort: err is what failed
		return nil, err
	}
	return l, nil
}

func (l *Loaded) attach(spec *ebpf.CollectionSpec, optional bool) error {
	for _, name := range slices.Sorted(maps.Keys(spec.Programs)) {
		ps := spec.Programs[name]
		ln, err := Attach(ps, l.Coll.Programs[name])
		if optional && ps.Type == ebpf.TracePoint && errors.Is(err, os.ErrNotExist) {
			_, tp, _ := strings.Cut(ps.AttachTo, "/")
			l.missing = append(l.missing, tp)
			continue
		}
		if err != nil {
			return fmt.Errorf("attach %s to %s: %w", name, ps.AttachTo, err)
		}
		l.links = append(l.links, ln)
	}
	return nil
}

// Attach attaches prog to the hook ps's section names: a classic
// tracepoint ("group/name") or a BTF-typed one (tp_btf).
func Attach(ps *ebpf.ProgramSpec, prog *ebpf.Program) (link.Link, error) {
	switch ps.Type {
	case ebpf.TracePoint:
		group, name, ok := strings.Cut(ps.AttachTo, "/")
		if !ok {
			return nil, fmt.Errorf("tracepoint %q has no group", ps.AttachTo)
		}
		return link.Tracepoint(group, name, prog, nil)
	case ebpf.Tracing:
		return link.AttachTracing(link.TracingOptions{Program: prog})
	}
	return nil, fmt.Errorf("program type %s is not attached by this loader", ps.Type)
}

// Missing lists the tracepoints this kernel lacks, left unattached.
func (l *Loaded) Missing() []string { return slices.Clone(l.missing) }

// Programs are the loaded programs by name, for their run statistics.
func (l *Loaded) Programs() map[string]*ebpf.Program { return maps.Clone(l.Coll.Programs) }

// ProgramStats reports, by program name, how often each program ran and
// for how long. The kernel only counts while statistics are enabled
// (ebpf.EnableStats, or sysctl kernel.bpf_stats_enabled); it counts
// recursion misses always.
func (l *Loaded) ProgramStats() (map[string]*ebpf.ProgramStats, error) {
	stats := make(map[string]*ebpf.ProgramStats, len(l.Coll.Programs))
	for name, p := range l.Coll.Programs {
		st, err := p.Stats()
		if err != nil {
			return nil, fmt.Errorf("stats of %s: %w", name, err)
		}
		stats[name] = st
	}
	return stats, nil
}

// Close detaches the programs and releases the object.
func (l *Loaded) Close() error {
	errs := CloseLinks(l.links)
	l.links = nil
	l.Coll.Close()
	return errors.Join(errs...)
}

// CloseLinks closes links all at once: each detach from a tracepoint
// waits for an RCU grace period, and one after the other, fifty-odd links
// take seconds on a busy machine; together they share the waits.
func CloseLinks(links []link.Link) []error {
	errs := make([]error, len(links))
	var wg sync.WaitGroup
	for i, l := range links {
		wg.Go(func() { errs[i] = l.Close() })
	}
	wg.Wait()
	return errs
}
