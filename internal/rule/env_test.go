package rule

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestFunctionsFalseAndEmpty: vigil's helpers over lists say false when
// no element passes, also for an empty list, and basename and dirname
// answer as path.Base and path.Dir, whichever value they hand back.
func TestFunctionsFalseAndEmpty(t *testing.T) {
	rs := mustCompile(t, `
- rule: names
  description: d
  condition: >
    basename(process.script) == "." && dirname(process.script) == "." && basename(process.comm) == "curl" &&
    basename(process.binary) == "curl" && dirname("curl") == "." && dirname(process.binary) == "/usr/bin"
  severity: low
- rule: lists
  description: d
  condition: >
    !trusted_ancestor_names.hasAny(["bash"]) && !trusted_ancestor_names.anyStartsWith(["b"]) &&
    !process.args.hasAny(["-z"]) && !process.args.anyEndsWith([".org"]) && !process.args.anyContains([]) &&
    !process.cwd.endsWithAny(["/y", "/z"]) && !process.cwd.startsWithAny([]) &&
    !network.daddr.inCIDR(["192.168.0.0/16", "fd00::/8"]) && !network.daddr.inCIDR([])
  severity: low
`)
	ev := execEv(0, "/usr/bin/curl", "-k", "--url=https://example.com")
	ev.Kind = event.KindNetConnect
	ev.Process.Comm, ev.Process.Cwd = "curl", "/home/alice/x"
	ev.Network = &event.Network{DAddr: "10.2.3.4", DPort: 443}
	got := ruleNames(run(rs, Config{Throttle: Throttle{Disabled: true}}, ev))
	slices.Sort(got)
	if !slices.Equal(got, []string{"lists", "names"}) {
		t.Errorf("alerts %v, want both rules", got)
	}
}
