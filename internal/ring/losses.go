package ring

import (
	"fmt"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/percpu"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Reason says why data was lost in the kernel.
type Reason string

const (
	// RingbufFull means the record was not delivered; the ring had no room.
	RingbufFull Reason = "ringbuf_full"
	// Truncated means the record was delivered with a string or argv cut short.
	Truncated Reason = "truncated"
	// MapFull means a tracking map had no room, so state (and maybe a later
	// record) was lost.
	MapFull Reason = "map_full"
)

func reasonName(r uint32) Reason {
	switch r {
	case wire.DropRingbufFull:
		return RingbufFull
	case wire.DropTruncated:
		return Truncated
	case wire.DropMapFull:
		return MapFull
	}
	return Reason(fmt.Sprintf("reason_%d", r))
}

// Loss is one kernel counter: how many records of a kind lost data, and why.
type Loss struct {
	Reason Reason     `json:"reason"`
	Kind   event.Kind `json:"kind"`
	Count  uint64     `json:"count"`
}

// Losses sums the per-CPU counters and returns the ones that are not zero.
func (r *Ring) Losses() ([]Loss, error) {
	sums, err := percpu.Sums(r.drops, r.drops.MaxEntries())
	if err != nil {
		return nil, fmt.Errorf("read drop counters: %w", err)
	}
	var losses []Loss
	kinds := uint32(wire.KindCount)
	for key, sum := range sums {
		if sum == 0 {
			continue
		}
		losses = append(losses, Loss{
			Reason: reasonName(uint32(key) / kinds),
			Kind:   wire.KindName(uint16(uint32(key) % kinds)),
			Count:  sum,
		})
	}
	return losses, nil
}

// Lost adds up the losses of one reason and kind.
func Lost(losses []Loss, reason Reason, kind event.Kind) uint64 {
	var n uint64
	for _, l := range losses {
		if l.Reason == reason && l.Kind == kind {
			n += l.Count
		}
	}
	return n
}
