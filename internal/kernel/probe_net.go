package kernel

import (
	"context"
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Program return values the network probes use: let every packet through.
const (
	xdpPass = 2  // XDP_PASS
	tcxNext = -1 // TCX_NEXT: hand over to the next program, as if absent
)

// loopbackIfindex is lo's interface index in every network namespace: the
// kernel registers it first when it creates the namespace.
const loopbackIfindex = 1

// probeXDP only loads: attaching would mean touching a host interface, and
// the load is where a kernel without XDP refuses.
func probeXDP(context.Context) (string, error) {
	prog, err := loadProbeProgram(ebpf.ProgramSpec{
		Type:         ebpf.XDP,
		Instructions: returning(xdpPass),
	})
	if err != nil {
		return "", fmt.Errorf("xdp: %w", err)
	}
	if err := prog.Close(); err != nil {
		return "", fmt.Errorf("close xdp program: %w", err)
	}
	return "loaded (not attached: vigil does not probe on host interfaces)", nil
}

// probeTCX attaches for real, because a sched_cls program loads on kernels
// that have no tcx at all. It attaches to lo in a network namespace of its
// own, which no host traffic crosses and which vanishes afterwards.
func probeTCX(context.Context) (string, error) {
	prog, err := loadProbeProgram(ebpf.ProgramSpec{
		Type:         ebpf.SchedCLS,
		AttachType:   ebpf.AttachTCXIngress,
		Instructions: returning(tcxNext),
	})
	if err != nil {
		return "", fmt.Errorf("tcx: %w", err)
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered

	err = inThrowawayNetns(func() error {
		l, err := link.AttachTCX(link.TCXOptions{
			Interface: loopbackIfindex,
			Program:   prog,
			Attach:    ebpf.AttachTCXIngress,
		})
		if err != nil {
			return fmt.Errorf("attach tcx/ingress: %w", err)
		}
		return l.Close()
	})
	if err != nil {
		return "", err
	}
	return "loaded and attached to lo ingress in a private network namespace", nil
}

// inThrowawayNetns runs fn on an OS thread moved into a new network
// namespace. The thread stays locked when fn returns, so the Go runtime ends
// it instead of handing it, still in that namespace, to other goroutines;
// the namespace dies with the thread.
func inThrowawayNetns(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				errc <- fmt.Errorf("panic in private network namespace: %v", r)
			}
		}()
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("create private network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
