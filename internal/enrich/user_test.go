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
	e, uid, u := namingEnricher(t)
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

// TestSetuidNamesAskedUser: a setuid-family call's privilege names the uid
// it asked for (setresuid's first that is not -1) from the caller's
// /etc/passwd; other calls get no name.
func TestSetuidNamesAskedUser(t *testing.T) {
	e, uid, u := namingEnricher(t)
	pid := uint32(os.Getpid())
	for _, c := range []struct {
		call string
		args []int64
		want string
	}{
		{"setuid", []int64{int64(uid)}, u.Username},
		{"setresuid", []int64{-1, int64(uid), -1}, u.Username},
		{"setgid", []int64{int64(uid)}, ""},
		{"setreuid", []int64{-1, -1}, ""},
	} {
		ev := &event.Event{Kind: event.KindPrivilegeChange, Time: time.Now(), Process: &event.Process{PID: pid},
			Syscall: &event.Syscall{Name: c.call, Args: c.args}, Privilege: &event.Privilege{}}
		e.Enrich(ev)
		if ev.Privilege.User != c.want {
			t.Errorf("%s%v: privilege.user %q, want %q", c.call, c.args, ev.Privilege.User, c.want)
		}
	}
}

// namingEnricher is an enrich stage that names users from /proc, with the
// test's uid and its user, which the test skips without.
func namingEnricher(t *testing.T) (*Enricher, int, *user.User) {
	t.Helper()
	uid := os.Getuid()
	u, err := user.LookupId(fmt.Sprint(uid))
	if err != nil {
		t.Skipf("uid %d has no entry in this machine's user database: %v", uid, err)
	}
	e := New("n1", proctree.New(proctree.DefaultConfig()), container.NewResolver(16))
	e.SetUserNames(username.New("/proc"))
	return e, uid, u
}
