package podscope

import "strings"

// maxName is the kernel side's name buffer less its NUL: a name that
// fills it may have been cut, and is never taken for a pod's.
const maxName = 127

// UIDLen is the length of a pod uid as Kubernetes writes it.
const UIDLen = 36

// ParseUID reports whether s is a pod uid as Kubernetes writes it: 32
// lower-case hex digits, '-' at 8, 13, 18 and 23.
func ParseUID(s string) bool { return uidShape(s, '-') }

func uidShape(s string, sep byte) bool {
	if len(s) != UIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; i {
		case 8, 13, 18, 23:
			if c != sep {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') }

// ParsePodCgroup returns the uid of the pod whose cgroup a directory
// called name is, in the kubelet's two layouts: "pod<uid>" (cgroupfs
// driver) and "…-pod<uid with _ for ->.slice" (systemd driver:
// kubepods-burstable-pod0f1e…_….slice). It is the twin of pod_uid_of in
// podscope.bpf.c, which reads the same names in the kernel.
func ParsePodCgroup(name string) (uid string, ok bool) {
	if len(name) >= maxName {
		return "", false // the kernel reads at most this much, and refuses it
	}
	if rest, found := strings.CutPrefix(name, "pod"); found && uidShape(rest, '-') {
		return rest, true
	}
	body, found := strings.CutSuffix(name, ".slice")
	if !found || len(body) < 3+UIDLen {
		return "", false
	}
	p := len(body) - 3 - UIDLen
	if p > 0 && body[p-1] != '-' || body[p:p+3] != "pod" {
		return "", false
	}
	u := body[p+3:]
	if !uidShape(u, '_') {
		return "", false
	}
	return strings.ReplaceAll(u, "_", "-"), true
}

// containerPrefixes are how runtimes name a container's cgroup before its
// id: containerd and CRI-O under the systemd driver (with ".scope"), CRI-O
// and docker under cgroupfs; containerd under cgroupfs uses the bare id.
var containerPrefixes = []string{"", "cri-containerd-", "crio-", "docker-"}

// IDLen is the length of a container id in hex.
const IDLen = 64

// ParseContainerCgroup returns the id of the container whose cgroup a
// directory called name is: "<id>", "cri-containerd-<id>.scope",
// "crio-<id>.scope", "docker-<id>.scope" (or those without ".scope").
// CRI-O's "crio-conmon-<id>" (the monitor, not the container) is not one.
func ParseContainerCgroup(name string) (id string, ok bool) {
	if len(name) >= maxName {
		return "", false // as the kernel side
	}
	name = strings.TrimSuffix(name, ".scope")
	for _, p := range containerPrefixes {
		rest, found := strings.CutPrefix(name, p)
		if !found || len(rest) != IDLen {
			continue
		}
		if strings.IndexFunc(rest, func(r rune) bool { return r > 0x7f || !isHex(byte(r)) }) < 0 {
			return rest, true
		}
	}
	return "", false
}

// ContainerID strips the runtime prefix the Kubernetes API writes before a
// container's id ("containerd://…", "cri-o://…", "docker://…").
func ContainerID(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		return id
	}
	return s
}
