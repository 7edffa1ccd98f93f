package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/kube"
	"github.com/vigil-sec/vigil/internal/observe/syscalls"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// podFlags choose Kubernetes pods to record.
type podFlags struct {
	pod        string // namespace/name
	selector   string // a label selector, with namespace
	namespace  string
	kubeconfig string
}

// attachPods records the cgroups of the pods the flags name that run on
// this node: each pod's cgroup, so its containers (the sandbox's too) and
// any it restarts are recorded.
func attachPods(ctx context.Context, rec *syscalls.Recorder, f podFlags) (*profileTarget, error) {
	ns, name := f.namespace, ""
	if f.pod != "" {
		var ok bool
		if ns, name, ok = strings.Cut(f.pod, "/"); !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("--pod %s: want NAMESPACE/NAME", termsafe.Escape(f.pod))
		}
	}
	cfg, err := kube.Resolve(kube.Options{Mode: kube.ModeOn, Kubeconfig: f.kubeconfig})
	if err != nil {
		return nil, err
	}
	refs, err := kube.FindPods(ctx, cfg, ns, name, f.selector)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("no pod of namespace %s matches %s", termsafe.Escape(ns), termsafe.Escape(f.selector))
	}
	root, err := kernel.Cgroup2Root()
	if err != nil {
		return nil, err
	}
	t := &profileTarget{late: true}
	var names []string
	for _, ref := range refs {
		dir, err := findPodCgroup(root, ref.UID)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s (node %s; vigil profile records pods of its own node): %w",
				ref.Namespace, ref.Name, termsafe.Escape(ref.Node), err)
		}
		slot, err := recordDir(rec, root, dir)
		if err != nil {
			return nil, err
		}
		t.slots = append(t.slots, slot)
		names = append(names, ref.Namespace+"/"+ref.Name)
	}
	t.name = "pod " + strings.Join(names, ", ")
	return t, nil
}

// findPodCgroup is the cgroup v2 directory of the pod with uid: the parent
// of its containers' cgroups, which internal/container recognises.
func findPodCgroup(root, uid string) (string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a cgroup removed during the walk
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		id, ok := container.Parse(strings.TrimPrefix(path, root))
		if !ok || id.PodUID != uid {
			return nil
		}
		if parent := filepath.Dir(path); !slices.Contains(dirs, parent) {
			dirs = append(dirs, parent)
		}
		return fs.SkipDir
	})
	if err != nil {
		return "", fmt.Errorf("find pod %s: %w", uid, err)
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("%d cgroup directories below %s hold containers of pod %s, want one", len(dirs), root, uid)
	}
	if _, err := os.Stat(dirs[0]); err != nil {
		return "", err
	}
	return dirs[0], nil
}
