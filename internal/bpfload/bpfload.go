// Package bpfload loads kernel objects the one way every sensor and
// enforcement mechanism does: the shared ring's maps and knobs in place
// (internal/ring), the object's own const volatile knobs set before the
// load, a verifier rejection reported with the verifier's log, every
// program attached to the hook its section names, and everything closed
// again when any step fails. It knows nothing of what the objects report.
package bpfload

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/ring"
)

// Prepare makes spec share r (its ring buffer, loss counters and common
// knobs) and sets the object's own knobs, by variable name, before load.
func Prepare(r *ring.Ring, spec *ebpf.CollectionSpec, knobs map[string]any) (*ebpf.CollectionOptions, error) {
	if err := ring.SetKnobs(spec, knobs); err != nil {
		return nil, err
	}
	return r.CollectionOptions(spec)
}

// Verbose includes the verifier's log in a load error.
func Verbose(err error) error {
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) {
		return fmt.Errorf("%+v", verr)
	}
	return err
}

// Wrap is a load error with context, the verifier's log included:
// Wrap("load process sensor", err).
func Wrap(context string, err error) error {
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) {
		return fmt.Errorf("%s: %+v", context, verr)
	}
	return fmt.Errorf("%s: %w", context, err)
}

// Assign loads spec's objects into to, as ebpf.CollectionSpec.LoadAndAssign
// does, wrapping a failure with what (Wrap).
func Assign(what string, spec *ebpf.CollectionSpec, opts *ebpf.CollectionOptions, to any) error {
	if err := spec.LoadAndAssign(to, opts); err != nil {
		return Wrap(what, err)
	}
	return nil
}
