package pinned

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestStateSurvivesReopen: what one State writes, the next one opened on
// the same directory finds, as a restarted agent would.
func TestStateSurvivesReopen(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicies(0b101, 0b100, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetScopes(map[uint64]uint64{42: 0b100}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetExempt([]uint32{7, 8}); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for _, name := range []string{"enforce_config", "scope_cgroups", "exempt_tgids", "enforce_hits"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("map %s is not pinned: %v", name, err)
		}
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.ReadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != 0b101 || c.HashHold != 0b100 || c.Scoped != 1 || c.HeartbeatNs == 0 {
		t.Errorf("config after reopen = %+v", c)
	}
	var mask uint64
	if err := s.maps.Scopes.Lookup(uint64(42), &mask); err != nil || mask != 0b100 {
		t.Errorf("scope of cgroup 42 = %b, %v", mask, err)
	}
	// reconciling drops what is no longer wanted and keeps the rest
	if err := s.SetExempt([]uint32{8, 9}); err != nil {
		t.Fatal(err)
	}
	var one uint32
	if err := s.maps.Exempt.Lookup(uint32(7), &one); err == nil {
		t.Error("tgid 7 is still exempt")
	}
	for _, tgid := range []uint32{8, 9} {
		if err := s.maps.Exempt.Lookup(tgid, &one); err != nil {
			t.Errorf("tgid %d is not exempt: %v", tgid, err)
		}
	}
}

// TestIncompatiblePinIsReplaced: a map pinned by an older layout is
// unpinned and created anew instead of failing the load.
func TestIncompatiblePinIsReplaced(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old, err := ebpf.NewMap(&ebpf.MapSpec{Name: "scope_cgroups", Type: ebpf.Hash, KeySize: 8, ValueSize: 4, MaxEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Pin(filepath.Join(dir, "scope_cgroups")); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := Open(dir)
	if err != nil {
		t.Fatalf("open over an incompatible pin: %v", err)
	}
	defer s.Close()
	if err := s.SetScopes(map[uint64]uint64{1: 1}); err != nil {
		t.Fatal(err)
	}
}

// TestSlotsNameThePolicies: the numbers' names survive a reopen, and
// SetSlots frees what it no longer lists.
func TestSlotsNameThePolicies(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSlots([]Slot{{Number: 3, Name: "no-netcat", Enforce: true}, {Number: 63, Name: "watch"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Slots()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Slot{Number: 3, Name: "no-netcat", Enforce: true}) || got[1] != (Slot{Number: 63, Name: "watch"}) {
		t.Fatalf("slots after reopen = %+v", got)
	}
	if err := s.SetSlots([]Slot{{Number: 63, Name: "watch"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Slots(); len(got) != 1 || got[0].Number != 63 {
		t.Fatalf("slots after freeing 3 = %+v", got)
	}
	if err := s.SetSlots([]Slot{{Number: 64, Name: "x"}}); err == nil {
		t.Error("number 64 was accepted")
	}
}
