// Package ring owns the transport every kernel object shares, sensors and
// enforcement mechanisms alike: one BPF ring buffer that all objects write
// into, the per-CPU loss counters beside it, and the knobs bpf/lib/common.bpf.h
// declares. Objects load through Ring.CollectionOptions, which hands them
// this package's map instances in place of their own. What a record says is
// internal/wire's business.
package ring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

// Config sizes the ring and sets how records reach the reader.
type Config struct {
	// Size of the ring buffer in bytes: a power of two, at least a page.
	Size int
	// WakeupBytes is the fill at which a producer wakes the reader;
	// 0 means Size/8.
	WakeupBytes int
	// FlushInterval is how long the reader waits before draining records
	// that did not wake it: the longest delivery latency below WakeupBytes.
	FlushInterval time.Duration
	// IdleInterval is how long the reader sleeps once the ring stayed empty
	// for SleepAfter: the first record wakes it sooner. It bounds the
	// housekeeping interval (idle) and the delay of a record that races the
	// reader going to sleep. 0 means 1s.
	IdleInterval time.Duration
	// SleepAfter is how long the ring must stay empty before the reader
	// stops its FlushInterval timer and asks the kernel to wake it: it keeps
	// the timer through the short gaps of a steady load, since each sleep
	// and kernel wake-up costs the agent far more than a timer wake-up
	// (docs/benchmarks.md, "Exec storm: where the live cost goes"). It
	// does not delay any record. 0 means 50ms; below FlushInterval, one
	// FlushInterval.
	SleepAfter time.Duration
	// Scope is what the knobs of every sensor say: who is exempt, which
	// cgroup is traced.
	Scope Scope
}

// Scope is shared by every sensor: the agent's own process is never
// reported, and a cgroup filter, when set, limits reports to one cgroup v2
// subtree.
type Scope struct {
	AgentPID uint32
	// CgroupID and CgroupLevel select a cgroup v2 subtree (its id and its
	// depth below the root); a zero CgroupID traces every cgroup.
	CgroupID    uint64
	CgroupLevel int
}

// DefaultConfig is what the agent uses unless told otherwise.
func DefaultConfig() Config {
	return Config{Size: 8 << 20, FlushInterval: 5 * time.Millisecond, IdleInterval: time.Second,
		SleepAfter: 50 * time.Millisecond}
}

// Ring is the shared ring buffer, its reader and the loss counters.
type Ring struct {
	cfg    Config
	events *ebpf.Map
	drops  *ebpf.Map
	asleep *ebpf.Map
	reader *ringbuf.Reader
}

// New creates the shared maps and the reader.
func New(cfg Config) (*Ring, error) {
	if cfg.Size < os.Getpagesize() || cfg.Size&(cfg.Size-1) != 0 {
		return nil, fmt.Errorf("ring buffer size %d: must be a power of two of at least %d bytes",
			cfg.Size, os.Getpagesize())
	}
	if cfg.WakeupBytes <= 0 {
		cfg.WakeupBytes = cfg.Size / 8
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultConfig().FlushInterval
	}
	if cfg.IdleInterval <= 0 {
		cfg.IdleInterval = DefaultConfig().IdleInterval
	}
	if cfg.SleepAfter <= 0 {
		cfg.SleepAfter = DefaultConfig().SleepAfter
	}
	cfg.SleepAfter = max(cfg.SleepAfter, cfg.FlushInterval)
	spec, err := loadRing()
	if err != nil {
		return nil, err
	}
	r := &Ring{cfg: cfg}
	eventsSpec := spec.Maps[ringMapEvents].Copy()
	eventsSpec.MaxEntries = uint32(cfg.Size)
	if r.events, err = ebpf.NewMap(eventsSpec); err != nil {
		return nil, fmt.Errorf("create ring buffer: %w", err)
	}
	if r.drops, err = ebpf.NewMap(spec.Maps[ringMapDrops]); err != nil {
		_ = r.events.Close() // best effort: err is what failed
		return nil, fmt.Errorf("create drop counters: %w", err)
	}
	if r.asleep, err = ebpf.NewMap(spec.Maps[ringMapReaderAsleep]); err != nil {
		_ = r.Close() // best effort: err is what failed
		return nil, fmt.Errorf("create reader flag: %w", err)
	}
	if r.reader, err = ringbuf.NewReader(r.events); err != nil {
		_ = r.Close() // best effort: err is what failed
		return nil, fmt.Errorf("open ring buffer reader: %w", err)
	}
	return r, nil
}

// CollectionOptions prepares a sensor's spec to share this ring: it sets the
// common knobs and returns options that replace the sensor's own events and
// drops maps with this ring's.
func (r *Ring) CollectionOptions(spec *ebpf.CollectionSpec) (*ebpf.CollectionOptions, error) {
	knobs := map[string]any{
		ringVarAgentTgid:         r.cfg.Scope.AgentPID,
		ringVarWakeupBytes:       uint64(r.cfg.WakeupBytes),
		ringVarFilterCgroupId:    r.cfg.Scope.CgroupID,
		ringVarFilterCgroupLevel: int32(r.cfg.Scope.CgroupLevel),
	}
	if err := SetKnobs(spec, knobs); err != nil {
		return nil, fmt.Errorf("%w: does the object include common.h?", err)
	}
	if m, ok := spec.Maps[ringMapEvents]; ok {
		m.MaxEntries = uint32(r.cfg.Size)
	}
	return &ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{
			ringMapEvents:       r.events,
			ringMapDrops:        r.drops,
			ringMapReaderAsleep: r.asleep,
		},
	}, nil
}

// SetKnobs sets spec's const volatile globals, by name, before load.
func SetKnobs(spec *ebpf.CollectionSpec, knobs map[string]any) error {
	for name, value := range knobs {
		v, ok := spec.Variables[name]
		if !ok {
			return fmt.Errorf("object lacks knob %q", name)
		}
		if err := v.Set(value); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	return nil
}

// Read hands every record to handle, in ring order, and calls idle once the
// ring is drained after records came (at most a FlushInterval after the
// first of them), and every IdleInterval on a quiet system, so that
// buffered output is flushed and caches age. The raw slice is only valid
// during the call. Read returns nil after Stop, once every record written
// before Stop was handled.
//
// While records come, the reader wakes every FlushInterval (or when the
// ring holds WakeupBytes). Once the ring stayed empty for SleepAfter it
// sleeps until the kernel wakes it for the next record (reader_asleep), so
// that an idle agent costs no timer wake-ups but one per IdleInterval.
func (r *Ring) Read(handle func(raw []byte), idle func()) error {
	var rec ringbuf.Record
	busy, asleep := false, false
	var quietSince time.Time // when the ring was last found empty after records; zero: not since
	r.reader.SetDeadline(time.Now().Add(r.cfg.FlushInterval))
	for {
		err := r.reader.ReadInto(&rec)
		switch {
		case err == nil:
			handle(rec.RawSample)
			busy = true
			if asleep {
				asleep = false
				r.reader.SetDeadline(time.Now().Add(r.cfg.FlushInterval))
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			if busy || asleep {
				idle()
			}
			// Through the scheduler once a wake-up: a goroutine that only
			// leaves its P for system calls looks, to the runtime's monitor,
			// like one running for 10 ms, which it then preempts with a
			// signal, takes its P away and resets itself to 20 µs polling
			// (docs/benchmarks.md, "Exec storm: where the live cost goes").
			runtime.Gosched()
			now := time.Now()
			if busy {
				busy = false
				quietSince = time.Time{}
				r.reader.SetDeadline(now.Add(r.cfg.FlushInterval))
				continue
			}
			if quietSince.IsZero() {
				quietSince = now
			}
			if !asleep && now.Sub(quietSince)+r.cfg.FlushInterval < r.cfg.SleepAfter {
				// a gap in a steady load: the timer goes on
				r.reader.SetDeadline(now.Add(r.cfg.FlushInterval))
				continue
			}
			quietSince = time.Time{}
			asleep = r.sleep()
			wait := r.cfg.FlushInterval
			if asleep {
				wait = r.cfg.IdleInterval
			}
			r.reader.SetDeadline(time.Now().Add(wait))
		case errors.Is(err, ringbuf.ErrFlushed):
			idle()
			return nil
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}
	}
}

// sleep asks the kernel to wake the reader for the next record, and reports
// whether the reader may wait for that: not if records arrived meanwhile
// (they woke nobody) or the flag could not be set.
func (r *Ring) sleep() bool {
	if err := r.asleep.Update(uint32(0), uint32(1), ebpf.UpdateAny); err != nil {
		return false // the short timer goes on: later, never lost
	}
	// The flag is set before the ring is looked at, so a record reserved
	// after this look normally finds it set and wakes the reader. Not
	// always: the producer reads the flag with a plain load after storing
	// its position, which x86 may reorder, so a record racing this look can
	// miss both. IdleInterval bounds how long such a record waits.
	return r.reader.AvailableBytes() == 0
}

// Stop makes Read return once it has handled the records already in the
// ring. Detach the sensors first, so that nothing is written after.
func (r *Ring) Stop() error {
	return r.reader.Flush()
}

// Pending is how many bytes of records wait in the ring.
func (r *Ring) Pending() int { return r.reader.AvailableBytes() }

// Size is the ring buffer's size in bytes.
func (r *Ring) Size() int { return r.cfg.Size }

// Close releases the reader and the maps.
func (r *Ring) Close() error {
	var errs []error
	if r.reader != nil {
		errs = append(errs, r.reader.Close())
	}
	if r.drops != nil {
		errs = append(errs, r.drops.Close())
	}
	if r.asleep != nil {
		errs = append(errs, r.asleep.Close())
	}
	if r.events != nil {
		errs = append(errs, r.events.Close())
	}
	return errors.Join(errs...)
}
