package lsm

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
)

// record builds a record as the hooks lay it out (no kernel here runs
// them, so there are no captured ones).
func record(op lsmLsmOp, action pinned.Action, path string) []byte {
	var r lsmLsmEnforce
	r.Hdr.Kind, r.Hdr.Size, r.Hdr.Pid, r.Hdr.Tid = WireKind, uint32(recordSize), 42, 43
	r.Hit.Policy, r.Hit.Action = 5, uint16(action)
	r.Op, r.Dev, r.Ino, r.PathLen = uint32(op), 8<<20|1, 99, uint32(len(path))
	for i := range len(path) {
		r.Path[i] = int8(path[i])
	}
	return enforcetest.Raw(&r)
}

func TestDecode(t *testing.T) {
	d := Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }}
	ev, err := d.Decode(record(lsmLsmOpLSM_OP_EXEC, pinned.ActionDenied, "/usr/bin/nc"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != event.KindProcessExec || ev.Process.PID != 42 || ev.Process.Filename != "/usr/bin/nc" ||
		ev.Enforcement.Action != event.ActionDenied || ev.Enforcement.PolicyID != 5 ||
		ev.Enforcement.Hook != "lsm/bprm_check_security" || ev.Enforcement.Match.Ino != 99 || ev.Syscall.Error != "EPERM" {
		t.Errorf("exec = %+v %+v %+v", ev, ev.Process, ev.Enforcement)
	}
	ev, err = d.Decode(record(lsmLsmOpLSM_OP_OPEN, pinned.ActionWouldDeny, "shadow"))
	if err != nil || ev.Kind != event.KindFileOpen || ev.File.Path != "shadow" || ev.Enforcement.Action != event.ActionWouldDeny {
		t.Errorf("open = %+v, %v", ev, err)
	}
	enforcetest.WantMalformed(t, func(raw []byte) error { _, err := d.Decode(raw); return err }, map[string][]byte{
		"short":      record(lsmLsmOpLSM_OP_EXEC, pinned.ActionDenied, "x")[:40],
		"bad action": record(lsmLsmOpLSM_OP_EXEC, pinned.ActionKilled, "x"),
		"bad op":     record(9, pinned.ActionDenied, "x"),
	})
}
