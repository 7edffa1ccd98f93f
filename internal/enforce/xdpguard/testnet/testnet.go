// Package testnet builds the network the xdpguard kernel tests and the
// xdpdrop benchmark send through: two network namespaces joined by a veth
// pair. The sender has an allowed and a blocked address of each family,
// the receiver one; its neighbour entries are permanent, so no ARP or
// neighbour discovery runs and every packet from a blocked address is one
// the caller sent. It needs root and iproute2.
package testnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The addresses. List4 and List6 hold the blocked addresses, and not the
// allowed ones.
var (
	Allowed4 = netip.MustParseAddr("10.200.0.1")
	Blocked4 = netip.MustParseAddr("10.200.0.65")
	Recv4    = netip.MustParseAddr("10.200.0.2")
	List4    = netip.MustParsePrefix("10.200.0.64/26")

	Allowed6 = netip.MustParseAddr("fd00:200::1")
	Blocked6 = netip.MustParseAddr("fd00:200::1:1")
	Recv6    = netip.MustParseAddr("fd00:200::2")
	List6    = netip.MustParsePrefix("fd00:200::1:0/112")
)

// The veth pair's ends.
const (
	SenderMAC   = "02:76:67:00:00:01"
	ReceiverMAC = "02:76:67:00:00:02"
	SenderIf    = "va"
	ReceiverIf  = "vb"
)

// Pair is the network; Sender and Receiver are the paths of the
// namespaces, for netns.Do and xdpguard's AttachIn.
type Pair struct {
	Sender, Receiver string
	names            []string
}

// New creates the network, its namespaces named after prefix and this
// process. Close removes them, and the veth pair with them.
func New(prefix string) (*Pair, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("the network is built with iproute2: %w", err)
	}
	base := fmt.Sprintf("%s-%d-%x", prefix, os.Getpid(), rand.Uint32())
	s, r := base+"-s", base+"-r"
	p := &Pair{Sender: filepath.Join("/run/netns", s), Receiver: filepath.Join("/run/netns", r)}
	for _, name := range []string{s, r} {
		if err := ip("netns", "add", name); err != nil {
			return nil, errors.Join(err, p.Close())
		}
		p.names = append(p.names, name)
	}
	cmds := [][]string{
		{"-n", s, "link", "add", SenderIf, "address", SenderMAC, "type", "veth",
			"peer", "name", ReceiverIf, "address", ReceiverMAC, "netns", r},
		{"-n", s, "addr", "add", Allowed4.String() + "/24", "dev", SenderIf},
		{"-n", s, "addr", "add", Blocked4.String() + "/24", "dev", SenderIf},
		{"-n", s, "addr", "add", Allowed6.String() + "/64", "dev", SenderIf, "nodad"},
		{"-n", s, "addr", "add", Blocked6.String() + "/64", "dev", SenderIf, "nodad"},
		{"-n", r, "addr", "add", Recv4.String() + "/24", "dev", ReceiverIf},
		{"-n", r, "addr", "add", Recv6.String() + "/64", "dev", ReceiverIf, "nodad"},
		{"-n", s, "link", "set", "lo", "up"},
		{"-n", r, "link", "set", "lo", "up"},
		{"-n", s, "link", "set", SenderIf, "up"},
		{"-n", r, "link", "set", ReceiverIf, "up"},
		{"-n", s, "neigh", "replace", Recv4.String(), "lladdr", ReceiverMAC, "dev", SenderIf, "nud", "permanent"},
		{"-n", s, "neigh", "replace", Recv6.String(), "lladdr", ReceiverMAC, "dev", SenderIf, "nud", "permanent"},
	}
	for _, c := range cmds {
		if err := ip(c...); err != nil {
			return nil, errors.Join(err, p.Close())
		}
	}
	return p, nil
}

// Close removes the namespaces.
func (p *Pair) Close() error {
	var errs []error
	for _, name := range p.names {
		if err := ip("netns", "del", name); err != nil {
			errs = append(errs, fmt.Errorf("remove netns %s: %w", name, err))
		}
	}
	p.names = nil
	return errors.Join(errs...)
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
