// Package container names the container a process runs in from its cgroup
// path: the container id and the runtime that made it, for docker,
// containerd (CRI and plain), cri-o, podman and LXC, under both the cgroupfs
// and the systemd cgroup drivers. Metadata the path does not hold (names,
// images, pods' names and labels) is for the runtime and Kubernetes
// clients to add, whenever they learn it, through Table.Update.
package container

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// Runtimes, as Container.Runtime names them.
const (
	RuntimeHost       = "host"
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
	RuntimeLXC        = "lxc"
)

// Host returns a Container value for processes outside any container.
func Host() *event.Container {
	return &event.Container{ID: event.HostContainerID, Runtime: RuntimeHost}
}

// Identity is what a cgroup path says about its container.
type Identity struct {
	ID      string
	Runtime string
	PodUID  string // for containers of Kubernetes pods
}

// Parse reads a cgroup path. The innermost container wins, so a container
// nested in another (docker in docker) is named by its own id. ok is false
// for host cgroups.
func Parse(cgroupPath string) (id Identity, ok bool) {
	var podUID string
	inKube := false
	for _, seg := range strings.Split(cgroupPath, "/") {
		if seg == "" {
			continue
		}
		if strings.HasPrefix(seg, "kubepods") {
			inKube = true
		}
		if uid, isPod := podSegment(seg); isPod {
			podUID = uid
			continue
		}
		if c, found := containerSegment(seg, inKube); found {
			id, ok = c, true
		}
	}
	if ok && inKube {
		id.PodUID = podUID
	}
	return id, ok
}

// containerSegment recognises one path segment that names a container.
func containerSegment(seg string, inKube bool) (Identity, bool) {
	// systemd driver: <prefix>-<id>.scope
	if base, ok := strings.CutSuffix(seg, ".scope"); ok {
		for _, p := range []struct{ prefix, runtime string }{
			{"docker-", RuntimeDocker},
			{"cri-containerd-", RuntimeContainerd},
			{"crio-", RuntimeCRIO},
			{"libpod-", RuntimePodman},
		} {
			if id, ok := strings.CutPrefix(base, p.prefix); ok && isContainerID(id) {
				return Identity{ID: id, Runtime: p.runtime}, true
			}
		}
		return Identity{}, false
	}
	// cgroupfs driver with a runtime prefix
	for _, p := range []struct{ prefix, runtime string }{
		{"crio-", RuntimeCRIO},
		{"libpod-", RuntimePodman},
		{"docker-", RuntimeDocker},
	} {
		if id, ok := strings.CutPrefix(seg, p.prefix); ok && isContainerID(id) {
			return Identity{ID: id, Runtime: p.runtime}, true
		}
	}
	if name, ok := strings.CutPrefix(seg, "lxc.payload."); ok && name != "" {
		return Identity{ID: name, Runtime: RuntimeLXC}, true
	}
	// cgroupfs driver, bare id: /docker/<id>, or /kubepods/…/pod<uid>/<id>,
	// where containerd is the CRI runtime in all but legacy set-ups
	if isContainerID(seg) {
		if inKube {
			return Identity{ID: seg, Runtime: RuntimeContainerd}, true
		}
		return Identity{ID: seg, Runtime: RuntimeDocker}, true
	}
	return Identity{}, false
}

// podSegment recognises a pod's cgroup: "pod<uid>" (cgroupfs) or
// "kubepods-<qos>-pod<uid_with_underscores>.slice" (systemd).
func podSegment(seg string) (uid string, ok bool) {
	if base, isSlice := strings.CutSuffix(seg, ".slice"); isSlice {
		i := strings.LastIndex(base, "-pod")
		if i < 0 || !strings.HasPrefix(base, "kubepods") {
			return "", false
		}
		uid = strings.ReplaceAll(base[i+len("-pod"):], "_", "-")
	} else if rest, isPod := strings.CutPrefix(seg, "pod"); isPod {
		uid = rest
	} else {
		return "", false
	}
	return uid, isPodUID(uid)
}

// isContainerID: 64 lowercase hex digits, as every OCI runtime here makes them.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isPodUID: a UUID, 36 characters with dashes.
func isPodUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
