package xdpguard

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/netns"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// Mode is how the programs are attached to an interface.
type Mode string

const (
	// ModeXDP is XDP in the driver (native), before any skb exists; the
	// cheapest drop.
	ModeXDP Mode = "xdp"
	// ModeXDPGeneric is XDP run on the skb. Not tried unless asked for: it
	// costs about what tcx does and makes the kernel linearise packets
	// and refuse native XDP for other programs on that interface.
	ModeXDPGeneric Mode = "xdpgeneric"
	// ModeTCX is tcx ingress, first in the chain; for interfaces whose
	// driver has no native XDP, whose XDP hook is taken, or whose MTU
	// needs a multi-buffer XDP program.
	ModeTCX Mode = "tcx"
)

// DefaultModes is the order Attach tries when Options.Modes is empty.
func DefaultModes() []Mode { return []Mode{ModeXDP, ModeTCX} }

func allModes() []Mode { return []Mode{ModeXDP, ModeXDPGeneric, ModeTCX} }

func (m Mode) valid() bool {
	for _, v := range allModes() {
		if m == v {
			return true
		}
	}
	return false
}

// pinPrefix starts the names of this package's pinned links.
const pinPrefix = "xdp_"

// pinName names an attachment by the interface's network namespace
// (inode), its index (names may hold dots, which bpffs refuses) and mode.
func pinName(netns uint64, ifindex int, m Mode) string {
	return fmt.Sprintf("%s%d_%d_%s", pinPrefix, netns, ifindex, m)
}

// Attach attaches the programs to ingress of the interface ifname in the
// caller's network namespace (see AttachIn), trying Options.Modes in order,
// and pins the link. It returns the mode that attached.
func (g *Guard) Attach(ifname string) (Mode, error) { return g.AttachIn("", ifname) }

// AttachIn is Attach for an interface in the network namespace at nsPath
// (such as /run/netns/NAME or /proc/PID/ns/net). With nsPath "" the
// calling thread's namespace is used: a caller may also lock its thread,
// Setns into a namespace and call Attach there.
//
// A link an earlier agent pinned for the interface, in a mode still
// allowed, is kept and given this Guard's program in place (no moment
// without a program, no EBUSY). A pinned link in a mode no longer allowed
// is replaced after the new one is attached.
func (g *Guard) AttachIn(nsPath, ifname string) (Mode, error) {
	var mode Mode
	// one thread for the namespace lookup and the attach
	err := netns.Do(nsPath, func() error {
		var err error
		mode, err = g.attach(ifname)
		return err
	})
	return mode, err
}

func (g *Guard) attach(ifname string) (Mode, error) {
	ns, ifindex, err := locate(ifname)
	if err != nil {
		return "", err
	}
	var adopted Mode
	var stale []string
	for _, m := range allModes() {
		name := pinName(ns, ifindex, m)
		l, err := pinned.LoadLink(g.dir, name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("attach %s: open pinned link %s: %w", ifname, name, err)
		}
		if adopted == "" && g.allows(m) {
			// fails on a link whose interface has gone (ENOLINK): attach anew
			err = l.Update(g.program(m))
		} else {
			err = errors.New("not wanted")
		}
		_ = l.Close() // the pin holds the attachment
		if err == nil {
			adopted = m
			continue
		}
		stale = append(stale, name)
	}
	if adopted == "" {
		var errs []error
		for _, m := range g.modes {
			l, err := g.attachMode(m, ifindex)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", m, err))
				continue
			}
			err = pinned.PinLink(g.dir, pinName(ns, ifindex, m), l)
			_ = l.Close() // the pin holds the attachment now
			if err != nil {
				return "", fmt.Errorf("attach %s: %w", ifname, err)
			}
			adopted = m
			break
		}
		if adopted == "" {
			return "", fmt.Errorf("attach %s: %w", ifname, errors.Join(errs...))
		}
	}
	keep := pinName(ns, ifindex, adopted)
	for _, name := range stale {
		if name == keep {
			continue // replaced by PinLink above
		}
		if err := g.unpinNow(name); err != nil {
			return adopted, fmt.Errorf("attach %s: remove old link %s: %w", ifname, name, err)
		}
	}
	return adopted, nil
}

func (g *Guard) allows(m Mode) bool {
	for _, a := range g.modes {
		if a == m {
			return true
		}
	}
	return false
}

func (g *Guard) program(m Mode) *ebpf.Program {
	if m == ModeTCX {
		return g.objs.TC
	}
	return g.objs.XDP
}

func (g *Guard) attachMode(m Mode, ifindex int) (link.Link, error) {
	switch m {
	case ModeXDP:
		return link.AttachXDP(link.XDPOptions{Program: g.objs.XDP, Interface: ifindex, Flags: link.XDPDriverMode})
	case ModeXDPGeneric:
		return link.AttachXDP(link.XDPOptions{Program: g.objs.XDP, Interface: ifindex, Flags: link.XDPGenericMode})
	case ModeTCX:
		// first in the chain: a program before it could pass the packet on
		return link.AttachTCX(link.TCXOptions{Program: g.objs.TC, Interface: ifindex,
			Attach: ebpf.AttachTCXIngress, Anchor: link.Head()})
	}
	return nil, fmt.Errorf("mode %q: want one of %v", m, allModes())
}

// Detach removes the attachments of ifname in the caller's namespace
// (see DetachIn); an interface with none is not an error.
func (g *Guard) Detach(ifname string) error { return g.DetachIn("", ifname) }

// DetachIn removes the attachments of ifname in the namespace at nsPath;
// the drop has ended when it returns.
func (g *Guard) DetachIn(nsPath, ifname string) error {
	return netns.Do(nsPath, func() error {
		ns, ifindex, err := locate(ifname)
		if err != nil {
			return err
		}
		var errs []error
		for _, m := range allModes() {
			if err := g.unpinNow(pinName(ns, ifindex, m)); err != nil {
				errs = append(errs, fmt.Errorf("detach %s: %w", ifname, err))
			}
		}
		return errors.Join(errs...)
	})
}

// unpinNow unpins a link and detaches it at once: the kernel releases a
// link whose last reference was its pin only later, from a work queue, so
// unpinning alone leaves the program running for a moment. A missing pin
// is not an error.
func (g *Guard) unpinNow(name string) error {
	l, err := pinned.LoadLink(g.dir, name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { _ = l.Close() }() // the fd only: Detach reports
	if err := pinned.UnpinLink(g.dir, name); err != nil {
		return err
	}
	// a link whose interface has gone is detached already
	if err := l.Detach(); err != nil && !errors.Is(err, ebpf.ErrNotSupported) && !errors.Is(err, unix.ENOLINK) {
		return err
	}
	return nil
}

// Attachment is a link this package pinned.
type Attachment struct {
	Pin     string // its name for pinned.LoadLink and pinned.UnpinLink
	Netns   uint64 // inode of the interface's network namespace
	Ifindex int
	Mode    Mode
}

// Attachments lists the pinned links of this package, also those whose
// interface has gone (their link is defunct; UnpinLink removes them).
func (g *Guard) Attachments() ([]Attachment, error) {
	names, err := pinned.Links(g.dir)
	if err != nil {
		return nil, err
	}
	var out []Attachment
	for _, name := range names {
		parts := strings.Split(strings.TrimPrefix(name, pinPrefix), "_")
		if !strings.HasPrefix(name, pinPrefix) || len(parts) != 3 {
			continue
		}
		ns, err1 := strconv.ParseUint(parts[0], 10, 64)
		ifindex, err2 := strconv.Atoi(parts[1])
		if m := Mode(parts[2]); err1 == nil && err2 == nil && m.valid() {
			out = append(out, Attachment{Pin: name, Netns: ns, Ifindex: ifindex, Mode: m})
		}
	}
	return out, nil
}

// locate returns the calling thread's network namespace and the index of
// ifname in it.
func locate(ifname string) (netns uint64, ifindex int, err error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return 0, 0, fmt.Errorf("network namespace: %w", err)
	}
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return 0, 0, fmt.Errorf("interface %s: %w", ifname, err)
	}
	return st.Ino, iface.Index, nil
}
