package network

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// A cgroup that made a TCP connection has an entry in the kernel table;
// once the cgroup is removed, a prune deletes that entry, counts it, and
// leaves the entry of a cgroup that still exists. A prune whose walk
// cannot read the cgroup2 mount deletes nothing.
func TestPruneRemovedCgroup(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, err := Load(observetest.Ring(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	gone, kept := testenv.NewCgroup(t), testenv.NewCgroup(t)
	goneID, keptID := observetest.CgroupID(t, gone), observetest.CgroupID(t, kept)
	observetest.Connect(t, gone)
	observetest.Connect(t, kept)
	observetest.Poll(t, o, "both cgroups' connects", func(s *observe.Snapshot) bool {
		return s.Cgroups[goneID] != nil && s.Cgroups[goneID].TCPConnect.Count() > 0 &&
			s.Cgroups[keptID] != nil && s.Cgroups[keptID].TCPConnect.Count() > 0
	})
	if _, err := observe.Prune(observe.NewCgroupfs("/nonexistent-h15r", ""), o); err == nil {
		t.Error("a prune whose walk found no cgroup2 root said nothing")
	}
	observetest.RemoveCgroup(t, gone.Path)

	pruned, err := observe.Prune(observe.NewCgroupfs(gone.Root, ""), o)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := o.CgroupIDs()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pruned %v; %d cgroups left in the table", pruned, len(ids))
	if slices.Contains(ids, goneID) {
		t.Errorf("the removed cgroup %d is still in the table", goneID)
	}
	if !slices.Contains(ids, keptID) {
		t.Errorf("the live cgroup %d was pruned", keptID)
	}
	// other tests' removed cgroups may be pruned too: at least ours
	if pruned[observe.Network] < 1 {
		t.Errorf("pruned %v; want at least 1 for %s", pruned, observe.Network)
	}
}
