package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// hostCgroups is how this host lays out its cgroups.
type hostCgroups struct {
	cgroup2Root  string // "" when no v2 hierarchy is mounted
	v1Controller string // "" on a pure v2 host
	v1SubsysID   int    // -1 on a pure v2 host
}

func probeHost() (hostCgroups, error) {
	h := hostCgroups{v1SubsysID: -1}
	root, err := kernel.Cgroup2Root()
	if err != nil && !errors.Is(err, kernel.ErrNoCgroup2) {
		return h, err
	}
	h.cgroup2Root = root
	id, name, ok, err := kernel.CgroupV1Controller()
	if err != nil {
		return h, fmt.Errorf("cgroup v1 layout: %w", err)
	}
	if ok {
		h.v1SubsysID, h.v1Controller = id, name
	}
	return h, nil
}

// scope exempts the agent and applies the --cgroup filter.
func (a *Agent) scope(cgroup2Root string) (ring.Scope, error) {
	s := ring.Scope{AgentPID: uint32(os.Getpid())}
	if a.cfg.Cgroup == "" {
		return s, nil
	}
	if cgroup2Root == "" {
		return s, fmt.Errorf("--cgroup %s: %w", a.cfg.Cgroup, kernel.ErrNoCgroup2)
	}
	path := a.cfg.Cgroup
	if !filepath.IsAbs(path) {
		path = filepath.Join(cgroup2Root, path)
	}
	level, err := kernel.CgroupLevel(cgroup2Root, path)
	if err != nil {
		return s, fmt.Errorf("--cgroup: %w", err)
	}
	id, err := kernel.CgroupID(path)
	if err != nil {
		return s, fmt.Errorf("--cgroup: %w", err)
	}
	s.CgroupID, s.CgroupLevel = id, level
	return s, nil
}
