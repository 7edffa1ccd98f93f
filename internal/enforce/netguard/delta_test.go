package netguard

import (
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// TestSetWritesOnlyTheChange: once a Guard has written its tables, a new
// rule set writes only the entries that changed. The test marks an entry
// of rules that stay (another intel source's) with a verdict no plan
// writes; replacing the other rules leaves the mark, while their own
// entries come and go.
func TestSetWritesOnlyTheChange(t *testing.T) {
	e := newEnv(t, false)
	rule := func(addr string, v pinned.Verdict) Rule {
		return Rule{Prefix: netip.PrefixFrom(netip.MustParseAddr(addr), 32), Verdict: v}
	}
	a1, a2, a3 := rule("10.214.1.1", enforce), rule("10.214.1.2", enforce), rule("10.214.1.3", enforce)
	b := rule("10.214.2.1", monitor)
	e.connectRules(a1, a2, b)

	keyOf := func(r Rule) netguardNetKey4 {
		c, err := compile([]Rule{r})
		if err != nil || len(c.v4) != 1 {
			t.Fatalf("compile %v: %v, %d entries", r, err, len(c.v4))
		}
		for k := range c.v4 {
			return k
		}
		panic("unreachable")
	}
	mark := netguardNetEntry{}
	mark.Verdict.Monitor = 1 << 60
	m := e.guard.objs.Deny4
	if err := m.Update(keyOf(b), mark, ebpf.UpdateExist); err != nil {
		t.Fatal(err)
	}

	e.connectRules(a2, a3, b) // source A refreshed: a1 goes, a3 comes
	var got netguardNetEntry
	if err := m.Lookup(keyOf(b), &got); err != nil || got != mark {
		t.Errorf("the entry of rules that stayed was rewritten: %+v, %v", got, err)
	}
	if err := m.Lookup(keyOf(a3), &got); err != nil || got.Verdict.Enforce != enforce.Enforce {
		t.Errorf("the new entry: %+v, %v", got, err)
	}
	if err := m.Lookup(keyOf(a1), &got); err == nil {
		t.Errorf("the removed entry is still there: %+v", got)
	}
}
