// Package privtest performs, for tests, the real actions the privilege
// sensor reports: a setuid, a ptrace attach, an unshare, a mount, a bpf()
// load… Each runs in a child process, the test binary re-executed as a
// helper, because the actions change the process that makes them (its
// ids, its namespaces, its root) and because an agent under test exempts
// its own process.
//
// A test package calls RunIfHelper first thing (from TestMain, or from
// an init function where TestMain is not its own); Command starts a helper.
package privtest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// envAction carries the helper's action and arguments, tab-separated.
const envAction = "VIGIL_PRIVTEST_ACTION"

// Command returns the test binary, to be started as a helper that
// performs action with args and exits. It writes its results to stdout,
// one line each, and its errors to stderr; it exits 1 on failure.
func Command(action string, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if _, ok := actions()[action]; !ok {
		return nil, fmt.Errorf("privtest: no action %q", action)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), envAction+"="+strings.Join(append([]string{action}, args...), "\t"))
	cmd.Stderr = os.Stderr
	return cmd, nil
}

// RunIfHelper performs the helper's action and exits, when this process
// was started by Command; otherwise it returns at once.
func RunIfHelper() {
	spec, ok := os.LookupEnv(envAction)
	if !ok {
		return
	}
	fields := strings.Split(spec, "\t")
	act, ok := actions()[fields[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "privtest: no action %q\n", fields[0])
		os.Exit(1)
	}
	// every action runs on this one thread: ids, namespaces and ptrace
	// relations belong to threads, and raw calls here touch only this one
	runtime.LockOSThread()
	if err := act.call(fields[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "privtest %s: %v\n", fields[0], err)
		os.Exit(1)
	}
	os.Exit(0)
}

// action is what a helper does, and the arguments it takes.
type action struct {
	run func(args []string) error
	// usage names the arguments, comma-separated; "" for none
	usage string
}

func actions() map[string]action {
	return map[string]action{
		"setresuid":       {setresuidAndBack, "euid"},
		"setgid":          {setgidAndBack, ""},
		"setreuid":        {setreuidAndBack, ""},
		"setregid":        {setregidAndBack, ""},
		"setresgid":       {setresgidAndBack, ""},
		"setfsuid":        {setfsuidAndBack, ""},
		"setfsgid":        {setfsgidAndBack, ""},
		"setuid-denied":   {setuidDenied, ""},
		"capset-drop":     {capsetDrop, ""},
		"ptrace-attach":   {ptraceAttach, "pid"},
		"vm-target":       {vmTarget, ""},
		"vm-write":        {vmWrite, "pid, address, text"},
		"unshare":         {unshareNS, "flags"},
		"setns-self":      {setnsSelf, "namespace"},
		"mount-tmpfs":     {mountTmpfs, "directory, source"},
		"move-mount":      {moveMount, "directory, source"},
		"pivot-root":      {pivotRoot, "directory"},
		"chroot":          {chrootTo, "directory"},
		"init-module":     {initModule, ""},
		"finit-module":    {finitModule, "file"},
		"delete-module":   {deleteModule, "name"},
		"bpf-load":        {bpfLoad, "program name, cgroup directory"},
		"kexec-load":      {kexecLoad, ""},
		"kexec-file-load": {kexecFileLoad, ""},
		"userfaultfd":     {userfaultfd, ""},
		"personality":     {personality, "persona"},
		"every-kind":      {everyKind, "count"},
	}
}

// call runs the action with args, which must be as many as its usage names.
func (a action) call(args []string) error {
	n := 0
	if a.usage != "" {
		n = len(strings.Split(a.usage, ","))
	}
	if len(args) != n {
		return fmt.Errorf("want %d arguments (%s), have %q", n, a.usage, args)
	}
	return a.run(args)
}
