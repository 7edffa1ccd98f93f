package kernel

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

const (
	vmlinuxBTF      = "/sys/kernel/btf/vmlinux"
	bpfStatsSysctl  = "/proc/sys/kernel/bpf_stats_enabled"
	procFilesystems = "/proc/filesystems"
	procConfig      = "/proc/config.gz"
)

// helperProgramType is where helpers are probed. vigil calls them from
// tp_btf programs, which cilium/ebpf cannot probe helpers for; raw_tp
// programs get the same tracing helper set.
const helperProgramType = ebpf.RawTracepoint

func probeHelper(helper asm.BuiltinFunc) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		if err := features.HaveProgramHelper(helperProgramType, helper); err != nil {
			return "", err
		}
		return "callable from " + helperProgramType.String() + " programs", nil
	}
}

func probeRingbuf(context.Context) (string, error) {
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return "", err
	}
	return "BPF_MAP_TYPE_RINGBUF created", nil
}

func probeBTF(context.Context) (string, error) {
	info, err := os.Stat(vmlinuxBTF)
	if err != nil {
		return "", fmt.Errorf("kernel BTF: %w", err)
	}
	return fmt.Sprintf("%s (%d KiB)", vmlinuxBTF, info.Size()/1024), nil
}

func probeBPFStats(context.Context) (string, error) {
	value, err := os.ReadFile(bpfStatsSysctl)
	if err != nil {
		return "", fmt.Errorf("sysctl kernel.bpf_stats_enabled: %w", err)
	}
	return "kernel.bpf_stats_enabled = " + strings.TrimSpace(string(value)), nil
}

// probeFilesystem reports whether the kernel has fsType and where it is
// mounted. Probe never mounts it: that is EnsureMounts' job, not a probe's.
func probeFilesystem(fsType, usualMount string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		known, err := filesystemSupported(fsType)
		if err != nil {
			return "", err
		}
		if !known {
			return "", fmt.Errorf("%s is not in %s", fsType, procFilesystems)
		}
		mounts, err := Mounts()
		if err != nil {
			return "", fmt.Errorf("read mounts: %w", err)
		}
		var points []string
		for _, m := range mounts {
			if m.FSType == fsType {
				points = append(points, m.Point)
			}
		}
		if len(points) == 0 {
			return "supported, not mounted (usually at " + usualMount + ")", nil
		}
		return "mounted at " + strings.Join(points, ", "), nil
	}
}

func tracefsMounted() (bool, error) {
	mounts, err := Mounts()
	if err != nil {
		return false, fmt.Errorf("read mounts: %w", err)
	}
	_, ok := FindMount(mounts, "tracefs")
	return ok, nil
}

func filesystemSupported(fsType string) (bool, error) {
	data, err := os.ReadFile(procFilesystems)
	if err != nil {
		return false, fmt.Errorf("read filesystems: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		if fields := strings.Fields(line); len(fields) > 0 && fields[len(fields)-1] == fsType {
			return true, nil
		}
	}
	return false, nil
}

// kernelConfigSet looks option up in the kernel's own build configuration.
// It only sharpens a reason the probes already have, so known is false
// whenever the configuration cannot be read.
func kernelConfigSet(option string) (set, known bool) {
	f, err := os.Open(procConfig)
	if err != nil {
		return false, false
	}
	defer func() { _ = f.Close() }() // read-only
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false, false
	}
	defer func() { _ = zr.Close() }() // read-only

	lines := bufio.NewScanner(zr)
	for lines.Scan() {
		switch line := lines.Text(); {
		case line == "# "+option+" is not set":
			return false, true
		case strings.HasPrefix(line, option+"="):
			value := strings.TrimPrefix(line, option+"=")
			return slices.Contains([]string{"y", "m"}, value), true
		}
	}
	if lines.Err() != nil {
		return false, false
	}
	// A complete configuration that never mentions option: not set.
	return false, true
}
