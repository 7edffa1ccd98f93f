package wire

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestClockEvent(t *testing.T) {
	h := Header{Kind: ProcessExec, Ktime: 5e9, Pid: 7, Tid: 8, CgroupId: 9}
	c := Clock(func(ns uint64) time.Time { return time.Unix(0, int64(ns)).UTC() })
	ev := c.Event(h, event.KindProcessExec)
	p := ev.Process
	if !ev.Time.Equal(time.Unix(5, 0)) || ev.Kind != event.KindProcessExec || p.PID != 7 || p.TID != 8 || p.Cgroup.ID != 9 {
		t.Errorf("Event = %+v, process %+v", ev, p)
	}
	if got := Clock(nil).At(5e9); !got.IsZero() {
		t.Errorf("a nil Clock dates %v, want the zero time", got)
	}
}
