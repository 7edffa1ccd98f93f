package kernel

import (
	"testing"
	"time"
)

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/mnt/a\040b`:  "/mnt/a b",
		`/plain`:       "/plain",
		`/tab\011x`:    "/tab\tx",
		`/back\134s`:   `/back\s`,
		`/short\04`:    `/short\04`,
		`/notoctal\9x`: `/notoctal\9x`,
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountsFindsProc(t *testing.T) {
	mounts, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := FindMount(mounts, "proc")
	if !ok || m.Point != "/proc" {
		t.Errorf("proc mount = %+v, %v", m, ok)
	}
}

func TestCgroupLevel(t *testing.T) {
	for _, tc := range []struct {
		path  string
		level int
		ok    bool
	}{
		{"/sys/fs/cgroup", 0, true},
		{"/sys/fs/cgroup/a", 1, true},
		{"/sys/fs/cgroup/a/b/c", 3, true},
		{"/sys/fs/other", 0, false},
	} {
		level, err := CgroupLevel("/sys/fs/cgroup", tc.path)
		if (err == nil) != tc.ok || level != tc.level {
			t.Errorf("CgroupLevel(%q) = %d, %v; want %d, ok=%v", tc.path, level, err, tc.level, tc.ok)
		}
	}
}

func TestBootClockTracksWallClock(t *testing.T) {
	c := NewBootClock()
	got := c.Time(uint64(BootNanos()))
	if d := time.Since(got); d < -time.Second || d > time.Second {
		t.Errorf("boot clock now = %v, wall clock now = %v: %v apart", got, time.Now(), d)
	}
}
