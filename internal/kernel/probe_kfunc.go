package kernel

import (
	"context"
	"fmt"

	"github.com/cilium/ebpf"
)

// probeKfunc loads program (kfunc.bpf.c), which calls the kfunc family of
// the feature, without attaching it. A kfunc is tied to a kernel version,
// not to a helper number, so only a load proves it; bpf/lib/kfuncs.bpf.h
// lists each one with its first kernel and the programs that need it.
func probeKfunc(program, since string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		spec, err := loadKfunc()
		if err != nil {
			return "", fmt.Errorf("kfunc probe object: %w", err)
		}
		ps, ok := spec.Programs[program]
		if !ok {
			return "", fmt.Errorf("kfunc probe object lacks %s", program)
		}
		prog, err := ebpf.NewProgram(ps)
		if err != nil {
			return "", fmt.Errorf("%w (needs Linux %s)", err, since)
		}
		_ = prog.Close() // loading was the probe; nothing ran
		return "callable from " + ps.Type.String() + " programs", nil
	}
}
