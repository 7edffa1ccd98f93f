package netguard

import (
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/netname"
	"github.com/vigil-sec/vigil/internal/wire"
)

// WireKind is the record kind of the programs (KIND_ENFORCE_NET).
const WireKind = wire.EnforceNet

var recordSize = int(unsafe.Sizeof(netguardNetRecord{}))

// Decoder turns the programs' records into events, dated by its Clock.
type Decoder struct{ wire.Clock }

// Decode decodes a KIND_ENFORCE_NET record: a net_connect (connect, or an
// unconnected UDP sendmsg) or a net_bind a policy denied (Result "EPERM")
// or would have denied (Result "success": the call went on). The process
// is the bare pid/tid/cgroup of the record; the agent enriches it. A bind's
// address is the local one (SAddr, SPort), as in the network sensor's
// net_bind; a connect's is the destination (DAddr, DPort).
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	h, r, err := parse(raw)
	if err != nil {
		return nil, err
	}
	ev := d.Event(h, event.KindNetConnect)
	ev.Network = &event.Network{
		Protocol: netname.Protocol(r.Family, r.Protocol),
		Family:   netname.Family(r.Family),
	}
	action := pinned.Action(r.Hit.Action)
	ev.Enforcement = &event.Enforcement{
		PolicyID:  int(r.Hit.Policy),
		Action:    pinned.EventAction(action),
		Mechanism: event.MechanismKernel,
		Hook:      hookName(r.Op, r.Flags),
		Match:     matchEvent(matchOf(&r)),
	}
	n, sc := ev.Network, &event.Syscall{Name: syscallName(r.Op)}
	ev.Syscall = sc
	if action == pinned.ActionDenied {
		n.Result = "EPERM"
		sc.Ret, sc.Error = -int64(unix.EPERM), "EPERM"
	} else {
		n.Result = "success"
	}
	addr := recordAddr(&r).String()
	if netguardNetOp(r.Op) == netguardNetOpNET_OP_BIND {
		ev.Kind = event.KindNetBind
		n.SAddr, n.SPort = addr, r.Port
	} else {
		n.DAddr, n.DPort = addr, r.Port
	}
	return ev, nil
}

// MatchedRule returns the deny entry a record's decision came from (give
// it to RuleFor with the record's policy to find the rule).
func MatchedRule(raw []byte) (Match, error) {
	_, r, err := parse(raw)
	if err != nil {
		return Match{}, err
	}
	return matchOf(&r), nil
}

func matchOf(r *netguardNetRecord) Match {
	a := recordAddr(r)
	if r.Match.Family == unix.AF_INET {
		a = a.Unmap()
	}
	return Match{
		Prefix:   netip.PrefixFrom(a, int(r.Match.Bits)).Masked(),
		Port:     r.Match.Port,
		Protocol: Protocol(r.Match.Proto),
	}
}

// matchEvent is the match as the event carries it, for the enforce stage.
func matchEvent(m Match) event.EnforceMatch {
	proto := ""
	if m.Protocol != ProtocolAny {
		proto = m.Protocol.String()
	}
	return event.EnforceMatch{Prefix: m.Prefix, Port: m.Port, Protocol: proto}
}

// parse checks every field user space relies on, so that a malformed
// record is an error and never a wrong event.
func parse(raw []byte) (wire.Header, netguardNetRecord, error) {
	h, r, err := wire.FixedRecord[netguardNetRecord](raw, WireKind)
	if err != nil {
		return h, r, err
	}
	switch {
	case r.Op < uint8(netguardNetOpNET_OP_CONNECT) || r.Op > uint8(netguardNetOpNET_OP_BIND):
		return h, r, fmt.Errorf("%w: net enforcement op %d", wire.ErrMalformed, r.Op)
	case r.Family != unix.AF_INET && r.Family != unix.AF_INET6:
		return h, r, fmt.Errorf("%w: net enforcement family %d", wire.ErrMalformed, r.Family)
	}
	if _, err := pinned.CheckHit(r.Hit.Policy, r.Hit.Action, pinned.ActionDenied, pinned.ActionWouldDeny); err != nil {
		return h, r, err
	}
	switch {
	case r.Match.Family == unix.AF_INET && r.Match.Bits <= 32:
		if a := recordAddr(&r); !a.Is4() && !a.Is4In6() {
			return h, r, fmt.Errorf("%w: IPv4 entry matched %s", wire.ErrMalformed, a)
		}
	case r.Match.Family == unix.AF_INET6 && r.Match.Bits <= 128 && r.Family == unix.AF_INET6:
	default:
		return h, r, fmt.Errorf("%w: matched entry of family %d, /%d", wire.ErrMalformed, r.Match.Family, r.Match.Bits)
	}
	return h, r, nil
}

// recordAddr is the record's address as the caller gave it.
func recordAddr(r *netguardNetRecord) netip.Addr {
	if r.Family == unix.AF_INET {
		return netip.AddrFrom4([4]byte(r.Addr[:4]))
	}
	return netip.AddrFrom16(r.Addr)
}

func syscallName(op uint8) string {
	switch netguardNetOp(op) {
	case netguardNetOpNET_OP_CONNECT:
		return "connect"
	case netguardNetOpNET_OP_SENDMSG:
		return "sendmsg"
	}
	return "bind"
}

func hookName(op, flags uint8) string {
	v := "4"
	if netguardNetFlag(flags)&netguardNetFlagNET_HOOK6 != 0 {
		v = "6"
	}
	return "cgroup/" + syscallName(op) + v
}
