package io

import (
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// The bits block_rq_issue and block_rq_complete test to use the block
// layer's own issue stamp (io.bpf.c): their values when the kernel's BTF
// does not name them, which keep the programs stamping every request.
const (
	noQueueStatsBit = 64
	noRqStatsBit    = 32
)

// stampBits finds in the kernel's BTF the bit of QUEUE_FLAG_STATS in
// request_queue.queue_flags (an enumerator of an anonymous enum, which CO-RE
// cannot relocate) and of __RQF_STATS in request.rq_flags (enum rqf_flags).
// Either missing (an older kernel keeps them in macros) gives the "none"
// values for both: the programs then stamp requests themselves.
func stampBits(spec *btf.Spec) (queue, rq uint32, err error) {
	queue, rq = noQueueStatsBit, noRqStatsBit
	var rqf *btf.Enum
	if err := spec.TypeByName("rqf_flags", &rqf); err != nil {
		return queue, rq, nil //nolint:nilerr // no enum: stamp every request
	}
	r, ok := enumValue(rqf, "__RQF_STATS")
	if !ok || r >= noRqStatsBit {
		return queue, rq, nil
	}
	for typ, err := range spec.All() {
		if err != nil {
			return queue, rq, fmt.Errorf("read kernel BTF: %w", err)
		}
		e, isEnum := typ.(*btf.Enum)
		if !isEnum || e.Name != "" {
			continue
		}
		if q, ok := enumValue(e, "QUEUE_FLAG_STATS"); ok && q < noQueueStatsBit {
			return uint32(q), uint32(r), nil
		}
	}
	return queue, rq, nil
}

func enumValue(e *btf.Enum, name string) (uint64, bool) {
	for _, v := range e.Values {
		if v.Name == name {
			return v.Value, true
		}
	}
	return 0, false
}
