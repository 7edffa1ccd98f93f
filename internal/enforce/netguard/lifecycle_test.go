package netguard

import (
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestPinnedLinksOutliveGuard: the deny holds with no agent (the guard and
// its ring closed), and removing the pins lifts it.
func TestPinnedLinksOutliveGuard(t *testing.T) {
	e := newEnv(t, true)
	p := e.peers
	e.connectRules(Rule{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: enforce})
	e.bindRules(Rule{Port: freePort(t), Verdict: enforce})
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "EPERM"})
	ids := enforcetest.ProgramIDs(t, e.guard.Programs())
	if err := e.guard.Close(); err != nil {
		t.Fatal(err)
	}
	e.col.Stop()
	e.ring.Close()
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "EPERM"})
	names, err := pinned.Links(e.Dir)
	if err != nil || len(names) != len(LinkNames()) {
		t.Fatalf("pinned links %q (%v), want %q", names, err, LinkNames())
	}
	if err := pinned.Remove(e.Dir); err != nil {
		t.Fatal(err)
	}
	// an unpinned link is released after an RCU grace period, from a
	// workqueue: wait until the kernel no longer runs the programs
	waitDetached(t, e.Cgroup.Root, ids)
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "ok", call("connect", "tcp6", mapped(p.tcp4)): "ok"})
}

// TestUnpinLiftsDeny: Unpin detaches the network deny at once, even while
// an agent still holds the links.
func TestUnpinLiftsDeny(t *testing.T) {
	e := newEnv(t, true)
	p := e.peers
	e.connectRules(Rule{Prefix: host(p.tcp4), Verdict: enforce})
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "EPERM"})
	ids := enforcetest.ProgramIDs(t, e.guard.Programs())
	if err := Unpin(e.Dir); err != nil {
		t.Fatal(err)
	}
	// detached when Unpin returns, though the guard still holds its links
	attached := attachedAt(t, e.Cgroup.Root)
	for _, a := range e.guard.attachments() {
		if attached[a.typ][ids[a.name]] {
			t.Errorf("%s still attached after Unpin", a.hook)
		}
	}
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "ok"})
	if names, err := pinned.Links(e.Dir); err != nil || len(names) != 0 {
		t.Errorf("pinned links after Unpin: %q, %v", names, err)
	}
}

// TestDetach: a guard detaches and attaches again; the tables stay.
func TestDetach(t *testing.T) {
	e := newEnv(t, true)
	p := e.peers
	e.connectRules(Rule{Prefix: host(p.tcp4), Verdict: enforce})
	if err := e.guard.Detach(); err != nil {
		t.Fatal(err)
	}
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "ok"})
	if err := e.guard.Attach(e.Cgroup.Root); err != nil {
		t.Fatal(err)
	}
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "EPERM"})
}

// TestRestartReplacesLinks is an agent restart: a second guard loads
// against the same pin directory (adopting the tables: it sets no rules)
// and attaches while a process in the cgroup connects in a loop. Every
// attempt is refused, the new programs replace the old ones at every hook,
// and the denials go to the new agent's ring.
func TestRestartReplacesLinks(t *testing.T) {
	e := newEnv(t, true)
	p := e.peers
	e.connectRules(Rule{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: enforce})

	cmd := helperCmd(t, &e.Cgroup, "loop", call("connect", "tcp4", p.tcp4))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	loop := enforcetest.Start(t, cmd)
	waitAtLeast(t, e.col, loop.PID(), 1) // the loop runs under the old programs

	old := enforcetest.ProgramIDs(t, e.guard.Programs())
	g2, col2 := e.load(enforcetest.NewRing(t, false))
	if err := g2.Attach(e.Cgroup.Root); err != nil {
		t.Fatal(err)
	}
	if err := e.guard.Close(); err != nil {
		t.Fatal(err)
	}
	waitAtLeast(t, col2, loop.PID(), 1) // and now under the new ones
	in.Close()
	res := loop.Wait()
	if !res.Success() {
		t.Fatal(res)
	}
	t.Logf("connects during the restart: %s", res.Out)
	counts := strings.Fields(res.Out)
	if len(counts) != 1 || !strings.HasPrefix(counts[0], "EPERM=") {
		t.Errorf("connects during the restart: %q, want EPERM only", res.Out)
	}

	// the old links were closed by the old guard: detached now
	now := enforcetest.ProgramIDs(t, g2.Programs())
	attached := attachedAt(t, e.Cgroup.Root)
	for _, a := range g2.attachments() {
		if !attached[a.typ][now[a.name]] || attached[a.typ][old[a.name]] {
			t.Errorf("%s: attached %v; want the new program %d and not the old %d", a.hook, attached[a.typ], now[a.name], old[a.name])
		}
	}
}

// attachedAt lists the programs attached to a cgroup, per attach type of
// the guard's.
func attachedAt(t *testing.T, cgroup string) map[ebpf.AttachType]map[ebpf.ProgramID]bool {
	t.Helper()
	fd, err := unix.Open(cgroup, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	out := map[ebpf.AttachType]map[ebpf.ProgramID]bool{}
	for _, a := range (&Guard{}).attachments() {
		res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: a.typ})
		if err != nil {
			t.Fatal(err)
		}
		out[a.typ] = map[ebpf.ProgramID]bool{}
		for _, ap := range res.Programs {
			out[a.typ][ap.ID] = true
		}
	}
	return out
}

// waitDetached waits until none of ids is attached to cgroup; the deadline
// only bounds a test that would otherwise hang.
func waitDetached(t *testing.T, cgroup string, ids map[string]ebpf.ProgramID) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		left := 0
		for _, progs := range attachedAt(t, cgroup) {
			for _, id := range ids {
				if progs[id] {
					left++
				}
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d programs still attached after their pins were removed", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAttachToOneCgroup: attached to one cgroup rather than the root, the
// programs govern only the processes in it, here with a host-wide policy.
func TestAttachToOneCgroup(t *testing.T) {
	e := newEnv(t, false)
	p := e.peers
	if err := e.State.SetPolicies(1<<testPolicy, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := e.State.SetScopes(nil); err != nil {
		t.Fatal(err)
	}
	e.connectRules(Rule{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: enforce})
	e.bindRules(Rule{Port: freePort(t), Verdict: enforce})
	expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "EPERM", call("connect", "tcp4", p.tcp4b): "ok"})
	expect(t, nil, map[string]string{call("connect", "tcp4", p.tcp4): "ok"})
}
