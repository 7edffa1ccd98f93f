package execguard

import (
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
)

// heartbeat keeps the agent's heartbeat fresh until the test ends, as the
// agent does.
func (h *harness) heartbeat() {
	h.t.Helper()
	if err := h.State.Heartbeat(); err != nil {
		h.t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				h.State.Heartbeat()
			}
		}
	}()
	h.t.Cleanup(func() { close(stop); wg.Wait() })
}

// decision is what the resolver did about one hold.
type decision struct {
	hold   Hold
	sum    [sha256.Size]byte
	killed bool
}

// resolver answers holds as the agent does: hash the held executable, kill
// it when the hash is denied, else mark it known and continue it.
type resolver struct {
	mu        sync.Mutex
	decisions []decision
	done      chan struct{}
}

func (h *harness) resolve(denied map[[sha256.Size]byte]bool) *resolver {
	hs := NewHasher(16)
	rs := &resolver{done: make(chan struct{})}
	stop := make(chan struct{})
	go func() {
		defer close(rs.done)
		for {
			var hold Hold
			select {
			case hold = <-h.holds:
			case <-stop:
				return
			}
			sum, err := hs.Hash(hold)
			if err != nil {
				h.t.Errorf("hash held %d: %v", hold.PID, err)
			}
			kill := err != nil || denied[sum]
			if !kill {
				if err := h.guard.MarkKnown(hold.Key, hold.Stamp); err != nil {
					h.t.Error(err)
				}
			}
			// recorded before the release: once released, the test may
			// reap the process and look for the decision at once
			rs.mu.Lock()
			rs.decisions = append(rs.decisions, decision{hold, sum, kill})
			rs.mu.Unlock()
			if err := h.guard.Release(hold, kill); err != nil {
				h.t.Errorf("release %d: %v", hold.PID, err)
			}
		}
	}()
	h.t.Cleanup(func() { close(stop); <-rs.done })
	return rs
}

func (rs *resolver) of(pid int) []decision {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []decision
	for _, d := range rs.decisions {
		if d.hold.PID == uint32(pid) {
			out = append(out, d)
		}
	}
	return out
}

func fileSum(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := sha256.New()
	if _, err := io.Copy(d, f); err != nil {
		t.Fatal(err)
	}
	var sum [sha256.Size]byte
	copy(sum[:], d.Sum(nil))
	return sum
}

// holdRecords returns the KIND_EXEC_HOLD records of pid.
func (h *harness) holdRecords(pid int) []Hold {
	h.t.Helper()
	var out []Hold
	for _, raw := range h.records(pid) {
		if hdrKind(raw) != WireExecHold {
			continue
		}
		hold, err := DecodeHold(raw)
		if err != nil {
			h.t.Fatal(err)
		}
		enforcetest.Seed(h.t, "FuzzDecodeHold", raw)
		out = append(out, hold)
	}
	return out
}

// TestCopyIsKilledByHash: a copy of a denied binary is a new inode, so only
// its hash gives it away: it is held before its first instruction, hashed,
// and killed.
func TestCopyIsKilledByHash(t *testing.T) {
	h := newHarness(t)
	orig := h.copyBinary("denied")
	cp := enforcetest.CopyFile(t, orig, orig+"-copy")
	h.Scope(1<<policyEnforce, 1<<policyHold)
	h.deny(map[string]pinned.Verdict{orig: {Enforce: 1 << policyEnforce}})
	h.heartbeat()
	rs := h.resolve(map[[sha256.Size]byte]bool{fileSum(t, orig): true})

	r := h.exec(cp, false)
	if !r.Killed || r.ran() {
		t.Fatalf("copy of a denied binary: %v, want killed without a marker", r)
	}
	key, err := Resolve(cp)
	if err != nil {
		t.Fatal(err)
	}
	ds := rs.of(r.PID)
	if len(ds) != 1 || !ds[0].killed {
		t.Fatalf("decisions %+v, want one kill", ds)
	}
	holds := h.holdRecords(r.PID)
	if len(holds) != 1 {
		t.Fatalf("%d hold records, want 1", len(holds))
	}
	hd := holds[0]
	st, err := os.Stat(cp)
	if err != nil {
		t.Fatal(err)
	}
	if hd.Key != key || hd.Policies != 1<<policyHold || hd.Filename != cp || hd.CgroupID != h.CgroupID ||
		hd.Stamp.Size != st.Size() || hd.Stamp.MtimeSec != st.ModTime().Unix() || hd.StartTime == 0 ||
		hd.NotStopped || hd.Truncated {
		t.Errorf("hold %+v, want file %+v of %d bytes, policy %d, filename %s", hd, key, st.Size(), policyHold, cp)
	}
	if held, err := h.guard.Held(); err != nil || len(held) != 0 {
		t.Errorf("held after release: %+v, %v", held, err)
	}
}

// TestCleanBinaryIsHeldOnce: a clean unknown binary is held, hashed,
// continued and runs to completion; once known it is not held again.
func TestCleanBinaryIsHeldOnce(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("clean")
	h.Scope(0, 1<<policyHold)
	h.heartbeat()
	rs := h.resolve(nil)

	first := h.exec(bin, false)
	if !first.Success() || !first.ran() {
		t.Fatalf("first exec: %v, want it to run", first)
	}
	if ds := rs.of(first.PID); len(ds) != 1 || ds[0].killed || ds[0].sum != fileSum(t, bin) {
		t.Fatalf("first exec: decisions %+v, want one continue with the file's hash", ds)
	}
	second := h.exec(bin, false)
	if !second.Success() || !second.ran() {
		t.Fatalf("second exec: %v, want it to run", second)
	}
	if n := len(h.holdRecords(second.PID)); n != 0 {
		t.Fatalf("second exec of a known binary: %d holds, want none", n)
	}
	if n := len(h.holdRecords(first.PID)); n != 1 {
		t.Fatalf("first exec: %d hold records, want 1", n)
	}
	hits, err := h.State.Hits()
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Policy != policyHold || hits[0].Action != pinned.ActionHeld || hits[0].Count != 1 {
		t.Errorf("hits = %+v, want one hold by policy %d", hits, policyHold)
	}
}

// TestStaleHeartbeatFailsOpen: without a fresh heartbeat nobody would
// answer a hold, so there is none: the process runs (fail open), the
// kernel counts it (HOLD_NOT_HELD) and sends a hold record flagged
// not-held, for an agent that is alive but was slow to beat to judge late.
func TestStaleHeartbeatFailsOpen(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("unknown")
	h.Scope(0, 1<<policyHold)
	before, err := h.guard.Expiry()
	if err != nil {
		t.Fatal(err)
	}
	for i, age := range []time.Duration{0, 10 * time.Second} {
		c, err := h.State.ReadConfig()
		if err != nil {
			t.Fatal(err)
		}
		c.HeartbeatNs = 0 // never beat
		if age > 0 {
			c.HeartbeatNs = uint64(kernel.BootNanos()) - uint64(age)
		}
		if err := h.guard.objs.EnforceConfig.Update(uint32(0), &c, ebpf.UpdateAny); err != nil {
			t.Fatal(err)
		}
		r := h.exec(bin, false)
		if !r.Success() || !r.ran() {
			t.Fatalf("heartbeat %v old: %v, want it to run", age, r)
		}
		holds := h.holdRecords(r.PID)
		if len(holds) != 1 || !holds[0].NotHeld || !holds[0].NotStopped || holds[0].Policies != 1<<policyHold {
			t.Fatalf("heartbeat %v old: hold records %+v, want one flagged not held", age, holds)
		}
		st, err := h.guard.Expiry()
		if err != nil {
			t.Fatal(err)
		}
		if st.NotHeld != before.NotHeld+uint64(i+1) || st.Expired != before.Expired {
			t.Errorf("heartbeat %v old: expiry stats %+v (before %+v), want one more not held", age, st, before)
		}
	}
}

// TestForeignContinueKills: a held process continued by anyone but the
// agent is killed, before it gets to do anything.
func TestForeignContinueKills(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("unknown")
	h.Scope(0, 1<<policyHold)
	h.heartbeat()

	p, marker := h.start(bin)
	hold := <-h.holds // nobody resolves it
	if hold.PID != uint32(p.PID()) {
		t.Fatalf("hold of pid %d, want %d", hold.PID, p.PID())
	}
	if out, err := exec.Command("/bin/kill", "-CONT", strconv.Itoa(p.PID())).CombinedOutput(); err != nil {
		t.Fatalf("kill -CONT: %v: %s", err, out)
	}
	r := h.wait(p, marker)
	if !r.Killed || r.ran() {
		t.Fatalf("held process continued by another: %v, want killed", r)
	}
	ev, raw := h.enforceRecord(r.PID)
	enforcetest.Seed(t, "FuzzDecode", raw)
	if e := ev.Enforcement; e == nil || e.Action != event.ActionKilled || e.Hook != HookSigcont || e.PolicyID != policyHold {
		t.Fatalf("enforcement %+v, want killed at %s by policy %d", ev.Enforcement, HookSigcont, policyHold)
	}
	if ev.Process.Executable.Inode != hold.Key.Ino {
		t.Errorf("record names inode %d, held %d", ev.Process.Executable.Inode, hold.Key.Ino)
	}
	// the entry of the killed process stays until pruned (or released)
	if held, err := h.guard.Held(); err != nil || len(held) != 1 {
		t.Fatalf("held after the kill: %+v, %v; want the stale entry", held, err)
	}
	if n, err := h.guard.Prune(); n != 1 || err != nil {
		t.Errorf("Prune = %d, %v; want 1 stale entry pruned", n, err)
	}
	if err := h.guard.Release(hold, false); !errors.Is(err, ErrGone) {
		t.Errorf("release of the killed process: %v, want ErrGone", err)
	}
}

// TestRestartedAgentReleasesHeld: an agent that died with a process held
// leaves it in exec_held; the next one finds it there and releases it.
func TestRestartedAgentReleasesHeld(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("unknown")
	h.Scope(0, 1<<policyHold)
	h.heartbeat()

	p, marker := h.start(bin)
	hold := <-h.holds
	if err := h.guard.Close(); err != nil { // the agent dies
		t.Fatal(err)
	}
	g, err := Load(Options{Dir: h.Dir, Ring: h.ring})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	held, err := g.Held()
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0].PID != hold.PID || held[0].Key != hold.Key || held[0].StartTime != hold.StartTime {
		t.Fatalf("held after restart: %+v, want %+v", held, hold)
	}
	if err := g.Release(held[0], false); err != nil {
		t.Fatal(err)
	}
	if r := h.wait(p, marker); !r.Success() || !r.ran() {
		t.Fatalf("released process: %v, want it to run", r)
	}
	if held, err := g.Held(); err != nil || len(held) != 0 {
		t.Errorf("held after release: %+v, %v", held, err)
	}
}
