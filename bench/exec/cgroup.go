package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// benchCgroup is a cgroup v2 child of the root that this process runs in,
// with every process it starts: scoping the agent and the sensors to it
// (vigil run --cgroup) keeps the other processes of a shared machine out of
// the agent's CPU time, and costs every traced task the same cgroup check
// in every mode.
type benchCgroup struct {
	root, path string
	home       string // where this process was before
	scope      ring.Scope
}

func enterCgroup() (*benchCgroup, error) {
	root, err := kernel.Cgroup2Root()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, fmt.Sprintf("vigil-bench-exec-%d", os.Getpid()))
	if err := os.Mkdir(path, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	home, err := ownCgroup(root)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	c := &benchCgroup{root: root, path: path, home: home}
	if err := c.move(path); err != nil {
		os.Remove(path)
		return nil, err
	}
	level, err := kernel.CgroupLevel(root, path)
	if err != nil {
		return nil, err
	}
	id, err := kernel.CgroupID(path)
	if err != nil {
		return nil, err
	}
	c.scope = ring.Scope{CgroupID: id, CgroupLevel: level}
	return c, nil
}

// rel is the cgroup as vigil run --cgroup takes it.
func (c *benchCgroup) rel() string { rel, _ := filepath.Rel(c.root, c.path); return rel }

// move puts this whole process (every thread) into the cgroup at dir.
func (c *benchCgroup) move(dir string) error {
	pid := strconv.Itoa(os.Getpid())
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(pid), 0); err != nil {
		return fmt.Errorf("move into %s: %w", dir, err)
	}
	return nil
}

// leave moves this process back where it was and removes the cgroup.
func (c *benchCgroup) leave() error {
	if err := c.move(c.home); err != nil {
		return err
	}
	return os.Remove(c.path)
}

// ownCgroup is the cgroup v2 directory this process is in.
func ownCgroup(root string) (string, error) {
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(root, rel), nil
		}
	}
	return "", errors.New("no cgroup v2 entry in /proc/self/cgroup")
}
