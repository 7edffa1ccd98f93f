package file

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestFileEveryChangeAccountedFor: a helper in a cgroup of its own makes N
// rounds of every kind of change; for each kind, records delivered plus
// records the kernel counted as dropped equals what the helper did. Once
// with a roomy ring, once with a one-page ring and a slow consumer, where
// drops must happen and be counted.
func TestFileEveryChangeAccountedFor(t *testing.T) {
	const rounds = 2000
	for _, tc := range []struct {
		name      string
		ringSize  int
		slow      time.Duration
		wantDrops bool
	}{
		{"roomy", 16 << 20, 0, false},
		{"tiny-and-slow", os.Getpagesize(), 200 * time.Microsecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequirePrivileged(t)
			cg := testenv.NewCgroup(t)
			id, err := kernel.CgroupID(cg.Path)
			if err != nil {
				t.Fatal(err)
			}
			level, err := kernel.CgroupLevel(cg.Root, cg.Path)
			if err != nil {
				t.Fatal(err)
			}
			dir := tempDir(t)
			rc := ring.DefaultConfig()
			rc.Size = tc.ringSize
			rc.Scope = ring.Scope{CgroupID: id, CgroupLevel: level}
			w := watchRing(t, only(Config{WatchWrites: []string{dir}}), rc, tc.slow)

			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			helper := exec.Command(exe, "-test.run=^$")
			helper.Env = append(os.Environ(), helperEnv+"=changes:"+strconv.Itoa(rounds)+":"+dir)
			helper.Stderr = os.Stderr
			helper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
			if err := helper.Run(); err != nil {
				t.Fatalf("helper: %v", err)
			}
			w.stop() // detach, then drain the ring

			losses, err := w.ring.Losses()
			if err != nil {
				t.Fatal(err)
			}
			var dropped uint64
			for kind, per := range perRound {
				k := event.Kind(kind)
				got := uint64(len(w.find(func(ev *event.Event) bool { return ev.Kind == k })))
				lost := ring.Lost(losses, ring.RingbufFull, k)
				dropped += lost
				if want := per * rounds; got+lost != want {
					t.Errorf("%s: %d delivered + %d dropped = %d, want %d", kind, got, lost, got+lost, want)
				}
				if n := ring.Lost(losses, ring.MapFull, k) + ring.Lost(losses, ring.Truncated, k); n != 0 {
					t.Errorf("%s: %d other losses", kind, n)
				}
			}
			if tc.wantDrops && dropped == 0 {
				t.Errorf("a one-page ring and a slow consumer dropped nothing: the drop path went untested")
			}
			t.Logf("losses %+v", losses)
		})
	}
}
