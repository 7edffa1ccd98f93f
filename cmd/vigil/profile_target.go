package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/observe/syscalls"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// profileTarget is what vigil profile records: one cgroup v2 subtree.
type profileTarget struct {
	name  string   // for the report: the command, cgroup, container or pods
	slots []uint32 // the recorder's bitmaps
	// late: recording started after the workload did, so its start-up
	// calls were not seen
	late bool
	cmd  *exec.Cmd
	// own is the cgroup vigil created for a command, removed at the end
	own string
}

// recordDir starts recording the cgroup v2 directory dir.
func recordDir(rec *syscalls.Recorder, root, dir string) (uint32, error) {
	id, err := kernel.CgroupID(dir)
	if err != nil {
		return 0, err
	}
	level, err := kernel.CgroupLevel(root, dir)
	if err != nil {
		return 0, err
	}
	return rec.Record(id, level)
}

// startCommand creates a cgroup, starts recording it, and starts command
// born in it (clone3 with CLONE_INTO_CGROUP): its first call, the execve,
// is recorded.
func startCommand(rec *syscalls.Recorder, command []string) (*profileTarget, error) {
	root, err := kernel.Cgroup2Root()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, fmt.Sprintf("vigil-profile-%d-%x", os.Getpid(), rand.Uint32()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	t := &profileTarget{name: strings.Join(command, " "), own: dir}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		defer func() { _ = unix.Close(fd) }() // O_PATH: nothing to flush
		var slot uint32
		slot, err = recordDir(rec, root, dir)
		t.slots = []uint32{slot}
	}
	if err != nil {
		_ = t.cleanup() // best effort: err is what failed
		return nil, err
	}
	t.cmd = exec.Command(command[0], command[1:]...)
	t.cmd.Stdin, t.cmd.Stdout, t.cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	t.cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if err := t.cmd.Start(); err != nil {
		_ = t.cleanup() // best effort: err is what failed
		return nil, fmt.Errorf("start %s: %w", termsafe.Escape(command[0]), err)
	}
	return t, nil
}

// attachCgroup records an existing cgroup (a path below the cgroup2 mount,
// or an absolute path inside it).
func attachCgroup(rec *syscalls.Recorder, path string) (*profileTarget, error) {
	root, err := kernel.Cgroup2Root()
	if err != nil {
		return nil, err
	}
	dir := path
	if !strings.HasPrefix(path, root+"/") {
		dir = filepath.Join(root, path)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--cgroup %s: no cgroup v2 directory %s", termsafe.Escape(path), termsafe.Escape(dir))
	}
	slot, err := recordDir(rec, root, dir)
	if err != nil {
		return nil, err
	}
	return &profileTarget{name: "cgroup /" + strings.TrimPrefix(strings.TrimPrefix(dir, root), "/"), slots: []uint32{slot}, late: true}, nil
}

// attachContainer records the cgroup of a running container, found by its
// id (internal/container reads the runtimes' cgroup layouts).
func attachContainer(rec *syscalls.Recorder, id string) (*profileTarget, error) {
	root, err := kernel.Cgroup2Root()
	if err != nil {
		return nil, err
	}
	dir, full, err := findContainerCgroup(root, id)
	if err != nil {
		return nil, err
	}
	slot, err := recordDir(rec, root, dir)
	if err != nil {
		return nil, err
	}
	return &profileTarget{name: "container " + full, slots: []uint32{slot}, late: true}, nil
}

// findContainerCgroup is the outermost cgroup v2 directory below root
// whose path names the container id (or a unique prefix of its id).
func findContainerCgroup(root, id string) (dir, full string, err error) {
	if len(id) < 12 {
		return "", "", fmt.Errorf("--container %s: give at least 12 characters of the id", termsafe.Escape(id))
	}
	found := map[string]string{} // id → its outermost directory
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a cgroup removed during the walk
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		ident, ok := container.Parse(strings.TrimPrefix(path, root))
		if !ok || !strings.HasPrefix(ident.ID, id) {
			return nil
		}
		if _, seen := found[ident.ID]; !seen {
			found[ident.ID] = path
		}
		return fs.SkipDir // its children are the same container's
	})
	if err != nil {
		return "", "", fmt.Errorf("find container %s: %w", termsafe.Escape(id), err)
	}
	switch len(found) {
	case 0:
		return "", "", fmt.Errorf("--container %s: no cgroup below %s names this container", termsafe.Escape(id), root)
	case 1:
		for full, dir := range found {
			return dir, full, nil
		}
	}
	ids := make([]string, 0, len(found))
	for full := range found {
		ids = append(ids, full)
	}
	return "", "", fmt.Errorf("--container %s: the prefix names %d containers (%s)", termsafe.Escape(id), len(found), strings.Join(ids, ", "))
}

// wait records until ctx ends or, for a command, until it exits. A
// command that outlives ctx is sent SIGTERM, then SIGKILL after 5 s. The
// error carries the command's exit status.
func (t *profileTarget) wait(ctx context.Context) error {
	if t.cmd == nil {
		<-ctx.Done()
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- t.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = t.cmd.Process.Signal(syscall.SIGTERM) // it may have just exited
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			_ = t.cmd.Process.Kill()
			err = <-done
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code < 0 {
			code = 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
		}
		return &exitError{code: code, err: fmt.Errorf("%s exited with status %d (the profile holds what it did)", termsafe.Escape(t.name), code)}
	}
	return err
}

// cleanup ends what is left of a command's cgroup (its daemons: they were
// started by the command and are not recorded any further) and removes it.
func (t *profileTarget) cleanup() error {
	if t.own == "" {
		return nil
	}
	left, _ := os.ReadFile(filepath.Join(t.own, "cgroup.procs"))
	if n := len(strings.Fields(string(left))); n > 0 {
		if err := os.WriteFile(filepath.Join(t.own, "cgroup.kill"), []byte("1"), 0); err != nil {
			return fmt.Errorf("%d processes left in %s: %w", n, t.own, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := os.Remove(t.own)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", t.own, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
