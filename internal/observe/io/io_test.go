package io

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// O_DIRECT reads and writes of a loop device the test makes, from a
// process in the test's cgroup: the cgroup's bytes and operations are
// what dd moved (reads a few more: closing a block device written to
// rereads its partition table, in the closer's context), and the I/O
// latencies, each request waited for before the next, add up to no more
// than dd's run time.
func TestBlockIOOfLoopDevice(t *testing.T) {
	testenv.RequirePrivileged(t)
	img := fmt.Sprintf("/tmp/vh15o-%d.img", os.Getpid())
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(img) })
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v\n%s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })

	o, err := Load(observetest.Ring(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	cg := testenv.NewCgroup(t)
	id := observetest.CgroupID(t, cg)

	const reads, writes, bs = 1000, 300, 4096
	start := time.Now()
	dd(t, cg, "if="+dev, "of=/dev/null", "iflag=direct", fmt.Sprint("count=", reads))
	dd(t, cg, "if=/dev/zero", "of="+dev, "oflag=direct", fmt.Sprint("count=", writes))
	took := time.Since(start)

	s := observetest.Poll(t, o, "dd's reads and writes", func(s *observe.Snapshot) bool {
		st := s.Cgroups[id]
		return st != nil && st.IOBytes[observe.OpRead] >= reads*bs && st.IOBytes[observe.OpWrite] >= writes*bs
	})
	st := s.Cgroups[id]
	t.Logf("read %d B in %d ops, wrote %d B in %d ops; latency: %d samples, %v in all; dd ran %v",
		st.IOBytes[observe.OpRead], st.IOOps[observe.OpRead], st.IOBytes[observe.OpWrite],
		st.IOOps[observe.OpWrite], st.IOLatency.Count(), time.Duration(st.IOLatency.SumNs), took)
	const slack = 1 << 20 // the partition table rescan's reads
	if r := st.IOBytes[observe.OpRead]; r < reads*bs || r > reads*bs+slack || st.IOBytes[observe.OpWrite] != writes*bs {
		t.Errorf("bytes read/written %d/%d; dd moved %d/%d", st.IOBytes[observe.OpRead],
			st.IOBytes[observe.OpWrite], reads*bs, writes*bs)
	}
	// O_DIRECT, one request at a time: none merged
	if r := st.IOOps[observe.OpRead]; r < reads || r > reads+64 || st.IOOps[observe.OpWrite] != writes {
		t.Errorf("ops read/written %d/%d; dd made %d/%d", st.IOOps[observe.OpRead], st.IOOps[observe.OpWrite], reads, writes)
	}
	if n, ops := st.IOLatency.Count(), st.IOOps[observe.OpRead]+st.IOOps[observe.OpWrite]; n != ops {
		t.Errorf("%d latencies for %d requests", n, ops)
	}
	if sum := time.Duration(st.IOLatency.SumNs); sum == 0 || sum > took {
		t.Errorf("I/O latencies add up to %v; dd waited for each in turn and ran %v", sum, took)
	}
}

func dd(t *testing.T, cg testenv.Cgroup, args ...string) {
	t.Helper()
	cmd := exec.Command("dd", append(args, "bs=4096", "status=none")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dd %v: %v\n%s", args, err, out)
	}
}
