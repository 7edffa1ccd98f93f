package privilege

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// BPFNames name bpf()'s commands, program types and attach types as the
// running kernel's BTF does, so that types newer than vigil are named too.
// The zero value names them by number.
type BPFNames struct {
	cmds, progTypes, attachTypes map[uint32]string
}

// KernelBPFNames reads the names from the kernel's BTF (which the loader
// has read already: cilium/ebpf keeps it).
func KernelBPFNames() (BPFNames, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return BPFNames{}, fmt.Errorf("kernel BTF: %w", err)
	}
	var n BPFNames
	var errs []error
	for _, e := range []struct {
		to     *map[uint32]string
		enum   string
		prefix string
		lower  bool
	}{
		{&n.cmds, "bpf_cmd", "", false},                         // BPF_PROG_LOAD
		{&n.progTypes, "bpf_prog_type", "BPF_PROG_TYPE_", true}, // kprobe
		{&n.attachTypes, "bpf_attach_type", "BPF_", true},       // cgroup_inet_ingress
	} {
		var enum *btf.Enum
		if err := spec.TypeByName(e.enum, &enum); err != nil {
			errs = append(errs, fmt.Errorf("enum %s: %w", e.enum, err))
			continue
		}
		*e.to = enumNames(enum, e.prefix, e.lower)
	}
	return n, errors.Join(errs...)
}

// enumNames maps an enum's values to their names, the first name of a
// value winning (bpf_cmd has aliases); "__MAX…" sentinels are left out.
func enumNames(enum *btf.Enum, prefix string, lower bool) map[uint32]string {
	names := make(map[uint32]string, len(enum.Values))
	for _, v := range enum.Values {
		if strings.HasPrefix(v.Name, "__") {
			continue
		}
		if _, dup := names[uint32(v.Value)]; dup {
			continue
		}
		name := strings.TrimPrefix(v.Name, prefix)
		if lower {
			name = strings.ToLower(name)
		}
		names[uint32(v.Value)] = name
	}
	return names
}

func (n BPFNames) cmd(v uint32) string {
	if s, ok := n.cmds[v]; ok {
		return s
	}
	return fmt.Sprintf("BPF_CMD_%d", v)
}

func (n BPFNames) progType(v uint32) string {
	if s, ok := n.progTypes[v]; ok {
		return s
	}
	return fmt.Sprintf("prog_type_%d", v)
}

func (n BPFNames) attachType(v uint32) string {
	if s, ok := n.attachTypes[v]; ok {
		return s
	}
	return fmt.Sprintf("attach_type_%d", v)
}
