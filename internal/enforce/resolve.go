package enforce

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/kmod"
	"github.com/vigil-sec/vigil/internal/policy"
)

// enforcerResolver resolves as the kernel programs match: binaries as the
// exec guard sees them, protected paths through the file guard (loaded on
// first use), scopes to cgroup v2 ids. Used with e.mu held.
type enforcerResolver struct{ e *Enforcer }

func (e *Enforcer) resolver() Resolver { return enforcerResolver{e} }

func (r enforcerResolver) ExecInode(path string) (Inode, error) {
	k, err := execguard.Resolve(path)
	if err != nil {
		return Inode{}, err
	}
	return Inode{Dev: uint64(k.Dev), Ino: k.Ino}, nil
}

func (r enforcerResolver) FileInode(path string) (Inode, bool, error) {
	if err := r.e.need(MechFile); err != nil {
		return Inode{}, false, err
	}
	k, dir, err := r.e.file.Resolve(path)
	if err != nil {
		return Inode{}, false, err
	}
	return Inode{Dev: uint64(k.Dev), Ino: k.Ino}, dir, nil
}

// ModuleFiles reads the running kernel's module files (every one
// modules.dep lists, hashed) for the allowlists.
func (r enforcerResolver) ModuleFiles() ([]kmod.Candidate, []string) { return kmod.Candidates("/", "") }

// ErrNoCgroup2 says a container has no cgroup v2 of its own: its runtime
// put it only in v1 hierarchies (hybrid hosts), where cgroup hooks and the
// scope test cannot tell it apart.
var ErrNoCgroup2 = errors.New("the container has no cgroup v2 of its own (its runtime uses cgroup v1 here)")

func (r enforcerResolver) Cgroup(s policy.Scope) (uint64, error) {
	root := r.e.cfg.Cgroup2Root
	if root == "" {
		return 0, kernel.ErrNoCgroup2
	}
	path := s.Cgroup
	if s.Container != "" {
		rel, err := containerCgroup(s.Container)
		if err != nil {
			return 0, err
		}
		path = rel
	}
	if !filepath.IsAbs(path) || !strings.HasPrefix(path, root+"/") && path != root {
		path = filepath.Join(root, path)
	}
	if path == root {
		return 0, fmt.Errorf("%s is the root cgroup: leave the scope out for a host-wide policy", path)
	}
	return kernel.CgroupID(path)
}

// containerCgroup finds the cgroup v2 (relative to the mount) of a running
// container by its id or id prefix, from the processes in it.
func containerCgroup(id string) (string, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return "", err
	}
	found := false
	for _, p := range procs {
		if p.Name()[0] < '0' || p.Name()[0] > '9' {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", p.Name(), "cgroup"))
		if err != nil {
			continue
		}
		v2, mentions := "", false
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, id) {
				mentions = true
			}
			if rest, ok := strings.CutPrefix(line, "0::"); ok {
				v2 = rest
			}
		}
		_ = f.Close() // read-only
		if !mentions {
			continue
		}
		found = true
		if strings.Contains(v2, id) {
			return v2, nil
		}
	}
	if found {
		return "", fmt.Errorf("container %s: %w", id, ErrNoCgroup2)
	}
	return "", fmt.Errorf("no running container %s", id)
}
