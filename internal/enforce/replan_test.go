package enforce

import (
	"cmp"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/policy"
)

// intelLike is a policy of the shape intel generates: digests, addresses
// (some on a port) and packet sources, from values first..last.
func intelLike(name string, mode policy.Mode, first, last int) policy.Policy {
	p := policy.Policy{Name: name, Mode: mode, Packets: policy.Packets{Interfaces: []string{"eth" + name}}}
	for i := first; i <= last; i++ {
		sum := fmt.Sprintf("%064x", i)
		e := policy.Entry{Name: fmt.Sprint(i)}
		p.Exec.DenySHA256 = append(p.Exec.DenySHA256, policy.HashRule{Entry: e, SHA256: sum})
		pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		r := policy.NetRule{Entry: e, Prefix: pfx}
		if i%3 == 0 {
			r.Ports = []uint16{443}
		}
		p.Connect = append(p.Connect, r)
		p.Packets.Drop = append(p.Packets.Drop, policy.PrefixRule{Entry: e, Prefix: pfx})
	}
	p.Exec.HoldUnknown = mode == policy.Enforce
	return p
}

// TestReplacedPlanIsTheFullPlan: replacing one policy in a plan gives what
// planning the whole set again gives, shared entries included (a value
// both policies list keeps the other's bit), and leaves the plan it came
// from as it was.
func TestReplacedPlanIsTheFullPlan(t *testing.T) {
	a := intelLike("intel.a", policy.Enforce, 1, 40)
	b := intelLike("intel.b", policy.Monitor, 30, 60) // 30–40 shared with a
	numbers := map[string]int{"intel.a": 3, "intel.b": 5}
	plan := func(ps ...policy.Policy) *Plan {
		pl, err := NewPlan(ps, numbers, fakeResolver{})
		if err != nil {
			t.Fatal(err)
		}
		pl.addLearned(nil, fakeResolver{})
		return pl
	}
	for _, a2 := range []policy.Policy{
		intelLike("intel.a", policy.Enforce, 20, 80), // some go, some stay, some come
		intelLike("intel.a", policy.Monitor, 1, 40),  // the mode changes
		{Name: "intel.a", Mode: policy.Enforce},      // everything goes
	} {
		before := plan(a, b)
		got := before.replaced(3, a, a2)
		samePlan(t, got, plan(a2, b))
		samePlan(t, before, plan(a, b))
	}
}

func samePlan(t *testing.T, got, want *Plan) {
	t.Helper()
	norm := func(m map[string][]entryRef) map[string][]entryRef {
		out := map[string][]entryRef{}
		for k, refs := range m {
			refs = slices.Clone(refs)
			slices.SortFunc(refs, func(x, y entryRef) int { return cmp.Compare(x.policy+x.entry.Name, y.policy+y.entry.Name) })
			out[k] = refs
		}
		return out
	}
	strKeys := func(m any) map[string][]entryRef {
		out := map[string][]entryRef{}
		v := reflect.ValueOf(m)
		for _, k := range v.MapKeys() {
			out[fmt.Sprint(k.Interface())] = v.MapIndex(k).Interface().([]entryRef)
		}
		return norm(out)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"hashes", got.Hashes, want.Hashes},
		{"hash names", strKeys(got.hashNames), strKeys(want.hashNames)},
		{"hash hold", got.HashHold, want.HashHold},
		{"connect", got.Connect, want.Connect},
		{"net names", strKeys(got.netNames), strKeys(want.netNames)},
		{"drops", got.Drops, want.Drops},
		{"drop names", strKeys(got.dropNames), strKeys(want.dropNames)},
		{"interfaces", got.Interfaces, want.Interfaces},
		{"exec deny", got.ExecDeny, want.ExecDeny},
		{"policies", got.Policies, want.Policies},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v\nwant %v", c.what, c.got, c.want)
		}
	}
}

// BenchmarkReplan compares what a refresh of a small source (A, 1000
// digests and 1000 addresses) costs the planner beside a large one (B,
// 500 000 of each: 1M indicators): planning the whole set again (full)
// against replacing A's entries in the plan in force (replace).
func BenchmarkReplan(b *testing.B) {
	a := intelLike("intel.a", policy.Enforce, 1, 1000)
	a2 := intelLike("intel.a", policy.Enforce, 501, 1500)
	big := intelLike("intel.b", policy.Enforce, 1_000_000, 1_499_999)
	numbers := map[string]int{"intel.a": 3, "intel.b": 5}
	pl, err := NewPlan([]policy.Policy{a, big}, numbers, fakeResolver{})
	if err != nil {
		b.Fatal(err)
	}
	pl.addLearned(nil, fakeResolver{})
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewPlan([]policy.Policy{a2, big}, numbers, fakeResolver{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replace", func(b *testing.B) {
		for b.Loop() {
			pl.replaced(3, a, a2)
		}
	})
}
