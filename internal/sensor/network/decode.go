package network

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/netname"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Decoder turns the sensor's records into events. It checks every length
// against the record, so a malformed record yields an error, never a panic
// or a read past the record. Its Clock dates the events.
type Decoder struct{ wire.Clock }

var netInfoSize = int(unsafe.Sizeof(networkNetInfo{}))

// decoded is what Decode makes of one record, allocated at once: the
// event, the bare process its header names, and its network and syscall
// objects.
type decoded struct {
	ev   event.Event
	proc event.Process
	net  event.Network
	sys  event.Syscall
}

// payloadHeadMax is PAYLOAD_HEAD_MAX (network.h): the received bytes a
// net_payload carries at most.
const payloadHeadMax = 16

// Decode decodes a record of any of the sensor's Kinds. The process it
// carries is the bare pid/tid/cgroup of the record's header; the
// enrichment stage puts the known process, its ancestry and container in.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	info, ok := wire.Fixed[networkNetInfo](raw)
	if !ok {
		return nil, fmt.Errorf("%w: network record of %d bytes, want at least %d", wire.ErrMalformed, len(raw), netInfoSize)
	}
	tail := raw[netInfoSize:]
	if int(info.TailLen) != len(tail) {
		return nil, fmt.Errorf("%w: network record says %d tail bytes, has %d", wire.ErrMalformed, info.TailLen, len(tail))
	}
	kind := wire.KindName(info.Hdr.Kind)
	if !ours(info.Hdr.Kind) {
		return nil, fmt.Errorf("%w: kind %s is not a network kind", wire.ErrMalformed, kind)
	}
	r := &decoded{}
	ev := &r.ev
	d.EventWith(ev, &r.proc, wire.HeaderOf(raw), kind)
	r.net = event.Network{
		Family:     netname.Family(info.Family),
		SocketType: netname.SocketType(info.Type),
		Protocol:   netname.Protocol(info.Family, info.Protocol),
	}
	ev.Network = &r.net
	// a DNS query is taken at syscall entry: there is no result to report
	if name := syscallName(info.Syscall); name != "" && kind != event.KindDNSQuery {
		r.sys = event.Syscall{Name: name, Ret: info.Ret}
		if info.Ret < 0 {
			r.sys.Error = errnoName(-info.Ret)
		}
		ev.Syscall = &r.sys
	}
	if err := d.kindFields(ev, &info, tail); err != nil {
		return nil, err
	}
	return ev, nil
}

// ours says wire kind w is one of this sensor's event kinds: by its
// number, an index, never its name.
func ours(w uint16) bool {
	row, ok := event.KindOfWire(w)
	return ok && row.Family == event.FamilyNetwork && !row.Record
}

// kindFields fills what differs between kinds: which endpoints mean
// something, the result, and the kind's own object.
func (d Decoder) kindFields(ev *event.Event, info *networkNetInfo, tail []byte) error {
	n := ev.Network
	switch ev.Kind {
	case event.KindNetConnect, event.KindNetAccept, event.KindNetListen, event.KindNetBind, event.KindNetSocket:
		// the kinds a syscall's exit reports: its return is the result
		n.Result = result(info.Ret)
	}
	switch ev.Kind {
	case event.KindNetConnect:
		endpoints(n, info, false)
	case event.KindNetAccept:
		endpoints(n, info, true)
	case event.KindNetListen:
		n.Backlog = int(info.Backlog)
		local(n, info, true)
	case event.KindNetBind:
		local(n, info, true)
	case event.KindNetClose:
		n.State = tcpStateName(info.State)
		n.OldState = tcpStateName(info.OldState)
		if info.SkErr != 0 {
			n.Result = errnoName(int64(info.SkErr))
		}
		endpoints(n, info, false)
	case event.KindFdRedirect:
		ev.Redirect = &event.Redirect{OldFD: int(info.Fd), NewFD: int(info.NewFd)}
		endpoints(n, info, false)
	case event.KindDNSQuery:
		endpoints(n, info, false)
		if info.Flags&networkNetFlagNET_TAIL_DNS == 0 {
			return fmt.Errorf("%w: dns_query record without a DNS message", wire.ErrMalformed)
		}
		q, err := ParseQuery(tail)
		if err != nil {
			return fmt.Errorf("%w: dns_query: %w", wire.ErrMalformed, err)
		}
		ev.DNS = &event.DNS{Query: q.Name, Type: q.Type, ID: q.ID}
	case event.KindNetPayload:
		endpoints(n, info, false)
		if n.Payload = magicName(networkNetMagic(info.Magic)); n.Payload == "" {
			return fmt.Errorf("%w: net_payload record with magic %d", wire.ErrMalformed, info.Magic)
		}
		if info.Flags&networkNetFlagNET_TAIL_PAYLOAD == 0 || len(tail) > payloadHeadMax {
			return fmt.Errorf("%w: net_payload record with flags %#x and %d tail bytes", wire.ErrMalformed, info.Flags, len(tail))
		}
		n.PayloadHead = hex.EncodeToString(tail)
	}
	if info.Family == unix.AF_UNIX {
		path := unixPath(tail)
		switch {
		case info.Flags&networkNetFlagNET_TAIL_UNIX_LOCAL != 0:
			n.SAddr = path
		case info.Flags&networkNetFlagNET_TAIL_UNIX_PEER != 0:
			n.DAddr = path
		}
	}
	return nil
}

// endpoints sets both ends of an inet socket; an end the kernel had not
// set (no address, no port) is left out unless always says otherwise.
// Both addresses are spelled into one string, one allocation.
func endpoints(n *event.Network, info *networkNetInfo, always bool) {
	src, sok := inetAddr(info.Family, info.Saddr)
	sok = sok && (always || info.Sport != 0 || !src.IsUnspecified())
	dst, dok := inetAddr(info.Family, info.Daddr)
	dok = dok && (always || info.Dport != 0 || !dst.IsUnspecified())
	var buf [2 * len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")]byte
	b := buf[:0]
	if sok {
		b = src.AppendTo(b)
	}
	split := len(b)
	if dok {
		b = dst.AppendTo(b)
	}
	both := string(b)
	if sok {
		n.SAddr, n.SPort = both[:split], info.Sport
	}
	if dok {
		n.DAddr, n.DPort = both[split:], info.Dport
	}
}

// local sets the local end: for bind and listen 0.0.0.0 means "every
// address" and is kept.
func local(n *event.Network, info *networkNetInfo, always bool) {
	if addr, ok := inetAddr(info.Family, info.Saddr); ok && (always || info.Sport != 0 || !addr.IsUnspecified()) {
		n.SAddr, n.SPort = addr.String(), info.Sport
	}
}

func inetAddr(family uint16, raw [16]byte) (netip.Addr, bool) {
	switch family {
	case unix.AF_INET:
		return netip.AddrFrom4([4]byte(raw[:4])), true
	case unix.AF_INET6:
		return netip.AddrFrom16(raw), true
	}
	return netip.Addr{}, false
}

// unixPath reads a sun_path: a file path up to its NUL, or an abstract
// name (leading NUL) shown with "@" for each NUL, as ss(8) does.
func unixPath(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if b[0] != 0 {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{'@'}))
}
