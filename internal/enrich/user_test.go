package enrich

import (
	"fmt"
	"os"
	"os/user"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/username"
)

// TestExecNamesUser: an exec of a live process (this test's) gets the name
// of its uid from its /etc/passwd, and its later events carry it.
func TestExecNamesUser(t *testing.T) {
	uid := os.Getuid()
	u, err := user.LookupId(fmt.Sprint(uid))
	if err != nil {
		t.Skipf("uid %d has no entry in this machine's user database: %v", uid, err)
	}
	e := New("n1", proctree.New(proctree.DefaultConfig()), container.NewResolver(16))
	e.SetUserNames(username.New("/proc"))
	pid := uint32(os.Getpid())
	exec := &event.Event{Kind: event.KindProcessExec, Time: time.Now(),
		Process: &event.Process{PID: pid, UID: uint32(uid), Binary: "/usr/bin/go", StartTime: time.Now()}}
	if !e.Enrich(exec) {
		t.Fatal("exec not passed on")
	}
	if exec.Process.User != u.Username {
		t.Errorf("exec: user %q, want %q", exec.Process.User, u.Username)
	}
	open := &event.Event{Kind: event.KindFileOpen, Time: time.Now(), Process: &event.Process{PID: pid}}
	e.Enrich(open)
	if open.Process.User != u.Username {
		t.Errorf("a later event's process: user %q, want %q", open.Process.User, u.Username)
	}
}
