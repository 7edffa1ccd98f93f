package enforce

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Replacing one policy of a large set (an intel source's refresh) need not
// plan the others again: when the policy lists only what intel generates
// (sha256 digests, connect rules, packet sources) and keeps its name,
// number and scope, the plan in force is copied and only that policy's
// entries are taken out and put back. The kernel writes that follow write
// only what differs (pinned.Reconcile, xdpguard.SetSources): the other
// policies' entries are not written.

// replaceable says whether p's entries can be replaced in a plan without
// planning the other policies again.
func replaceable(p policy.Policy) bool {
	return len(p.Exec.Deny) == 0 && len(p.Files) == 0 && len(p.Bind) == 0 && p.Modules == nil
}

// replaced returns a plan in which policy n, old, is nw instead; pl is
// left as it was. The caller checks replaceable and that the scope is the
// same.
func (pl *Plan) replaced(n int, old, nw policy.Policy) *Plan {
	out := *pl
	bit := uint64(1) << n
	out.Policies = slices.Clone(pl.Policies)
	out.Policies[n] = nw
	out.HashHold &^= bit
	out.Hashes, out.hashNames = maps.Clone(pl.Hashes), maps.Clone(pl.hashNames)
	out.Drops, out.dropNames = maps.Clone(pl.Drops), maps.Clone(pl.dropNames)
	out.netVerdicts, out.netNames = maps.Clone(pl.netVerdicts), maps.Clone(pl.netNames)
	// learned copies are added again by the caller (addLearned), to the
	// entries the plan's paths gave
	out.ExecDeny, out.execNames = maps.Clone(pl.execBase), maps.Clone(pl.execBaseNames)
	for k, v := range out.execNames {
		out.execNames[k] = slices.Clip(v)
	}
	out.execSince = map[Inode]time.Time{}

	for _, h := range old.Exec.DenySHA256 {
		dropBit(out.Hashes, out.hashNames, h.SHA256, bit, old.Name)
	}
	touched := map[netKey]bool{}
	for _, k := range connectKeys(old) {
		dropBit(out.netVerdicts, out.netNames, k, bit, old.Name)
		touched[k] = true
	}
	for _, d := range old.Packets.Drop {
		dropBit(out.Drops, out.dropNames, d.Prefix, bit, old.Name)
	}

	add, ref := adders(nw, bit)
	// appends must not write into the slices pl shares with out
	for _, h := range nw.Exec.DenySHA256 {
		out.hashNames[h.SHA256] = slices.Clip(out.hashNames[h.SHA256])
	}
	for _, d := range nw.Packets.Drop {
		out.dropNames[d.Prefix] = slices.Clip(out.dropNames[d.Prefix])
	}
	for _, k := range connectKeys(nw) {
		if refs, ok := out.netNames[k]; ok {
			out.netNames[k] = slices.Clip(refs)
		}
	}
	out.addHashes(nw, bit, add, ref)
	out.addNet(nw, add, ref, touched)
	out.Connect = mergeNet(pl.Connect, out.netVerdicts, touched)

	ifaces := map[string]bool{}
	for _, p := range out.Policies {
		for _, i := range p.Packets.Interfaces {
			ifaces[i] = true
		}
	}
	out.Interfaces = nil
	for i := range ifaces {
		out.Interfaces = append(out.Interfaces, i)
	}
	sort.Strings(out.Interfaces)
	return &out
}

// connectKeys are the keys p's connect rules write.
func connectKeys(p policy.Policy) []netKey {
	var out []netKey
	for _, nr := range p.Connect {
		ports := nr.Ports
		if len(ports) == 0 {
			ports = []uint16{0}
		}
		for _, port := range ports {
			out = append(out, netKey{prefix: nr.Prefix, port: port, protocol: nr.Protocol})
		}
	}
	return out
}

// dropBit takes bit and name's references off key's entry, deleting the
// entry when no policy holds it any more. The references slice is copied,
// never changed in place: the plan it came from stays as it was.
func dropBit[K comparable](verdicts map[K]pinned.Verdict, names map[K][]entryRef, k K, bit uint64, name string) {
	v, ok := verdicts[k]
	if !ok {
		return
	}
	v.Enforce &^= bit
	v.Monitor &^= bit
	if v == (pinned.Verdict{}) {
		delete(verdicts, k)
		delete(names, k)
		return
	}
	verdicts[k] = v
	names[k] = slices.DeleteFunc(slices.Clone(names[k]), func(r entryRef) bool { return r.policy == name })
}

// mergeNet is the sorted connect entries: those of old whose keys were not
// touched, and the touched keys that are still held, in one ordered pass.
func mergeNet(old []NetEntry, verdicts map[netKey]pinned.Verdict, touched map[netKey]bool) []NetEntry {
	var fresh []NetEntry
	for k := range touched {
		if v, ok := verdicts[k]; ok {
			fresh = append(fresh, NetEntry{Prefix: k.prefix, Port: k.port, Protocol: k.protocol, Verdict: v})
		}
	}
	slices.SortFunc(fresh, compareNetEntries)
	out := make([]NetEntry, 0, len(old)+len(fresh))
	i := 0
	for _, e := range old {
		if touched[netKey{prefix: e.Prefix, port: e.Port, protocol: e.Protocol}] {
			continue
		}
		for i < len(fresh) && compareNetEntries(fresh[i], e) < 0 {
			out = append(out, fresh[i])
			i++
		}
		out = append(out, e)
	}
	return append(out, fresh[i:]...)
}

// sameScope says whether two scopes are one.
func sameScope(a, b policy.Scope) bool { return a.String() == b.String() }
