package pinned

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Slot says which policy a number stands for.
type Slot struct {
	Number  int
	Name    string
	Enforce bool
}

const (
	slotFree    = 0
	slotMonitor = 1
	slotEnforce = 2
)

// Slots lists the numbers in use, as the pinned state has them.
func (s *State) Slots() ([]Slot, error) {
	var out []Slot
	for i := range uint32(MaxPolicies) {
		var v pinnedPolicySlot
		if err := s.maps.Slots.Lookup(i, &v); err != nil {
			return nil, fmt.Errorf("read policy_slots: %w", err)
		}
		if v.Mode == slotFree {
			continue
		}
		name := make([]byte, 0, len(v.Name))
		for _, c := range v.Name {
			name = append(name, byte(c))
		}
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		out = append(out, Slot{Number: int(i), Name: string(name), Enforce: v.Mode == slotEnforce})
	}
	return out, nil
}

// SetSlots makes the numbers say exactly what slots say; the others are
// freed.
func (s *State) SetSlots(slots []Slot) error {
	want := make(map[uint32]pinnedPolicySlot, len(slots))
	for _, sl := range slots {
		if sl.Number < 0 || sl.Number >= MaxPolicies {
			return fmt.Errorf("policy number %d out of range", sl.Number)
		}
		var v pinnedPolicySlot
		if len(sl.Name) >= len(v.Name) {
			return fmt.Errorf("policy name %q longer than %d bytes", sl.Name, len(v.Name)-1)
		}
		for i := range len(sl.Name) {
			v.Name[i] = int8(sl.Name[i])
		}
		v.Mode = slotMonitor
		if sl.Enforce {
			v.Mode = slotEnforce
		}
		want[uint32(sl.Number)] = v
	}
	var errs []error
	for i := range uint32(MaxPolicies) {
		v := want[i] // the zero value frees the slot
		errs = append(errs, s.maps.Slots.Update(i, &v, ebpf.UpdateAny))
	}
	return errors.Join(errs...)
}
