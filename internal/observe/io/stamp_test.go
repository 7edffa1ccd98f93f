package io

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// With the block layer's stamp off (as on a kernel whose statistics
// differ), block_rq_issue stamps every request itself: O_DIRECT
// reads of a loop device the test makes give one latency per request,
// adding up to no more than dd's run time.
func TestBlockIOStampedByTheProgram(t *testing.T) {
	testenv.RequirePrivileged(t)
	img := fmt.Sprintf("/tmp/vh15c-%d.img", os.Getpid())
	if err := os.WriteFile(img, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(img) })
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v\n%s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })

	off := func() (map[string]any, error) { return map[string]any{ioVarUseKernelStamp: false}, nil }
	o, err := load(observetest.Ring(t), 0, off)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	cg := testenv.NewCgroup(t)
	id := observetest.CgroupID(t, cg)

	const reads, bs = 500, 4096
	start := time.Now()
	dd(t, cg, "if="+dev, "of=/dev/null", "iflag=direct", fmt.Sprint("count=", reads))
	took := time.Since(start)
	s := observetest.Poll(t, o, "dd's reads", func(s *observe.Snapshot) bool {
		st := s.Cgroups[id]
		return st != nil && st.IOOps[observe.OpRead] >= reads
	})
	st := s.Cgroups[id]
	t.Logf("%d reads, %d latencies, %v in all; dd ran %v", st.IOOps[observe.OpRead], st.IOLatency.Count(),
		time.Duration(st.IOLatency.SumNs), took)
	if n, ops := st.IOLatency.Count(), st.IOOps[observe.OpRead]+st.IOOps[observe.OpWrite]; n != ops {
		t.Errorf("%d latencies for %d requests", n, ops)
	}
	if sum := time.Duration(st.IOLatency.SumNs); sum == 0 || sum > took {
		t.Errorf("I/O latencies add up to %v; dd waited for each in turn and ran %v", sum, took)
	}
}
