package podscope

import (
	"strings"
	"testing"
)

const (
	testUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	testCID = "3f2a9c41d5e8b7a6c3f2a9c41d5e8b7a6c3f2a9c41d5e8b7a6c3f2a9c41d5e8b"
)

func TestParsePodCgroup(t *testing.T) {
	sd := strings.ReplaceAll(testUID, "-", "_")
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"pod" + testUID, true},
		{"kubepods-besteffort-pod" + sd + ".slice", true},
		{"kubepods-burstable-pod" + sd + ".slice", true},
		{"kubepods-pod" + sd + ".slice", true},
		{"pod" + sd + ".slice", true},
		{"pod" + sd, false},                                       // cgroupfs writes '-'
		{"kubepods-pod" + testUID + ".slice", false},              // systemd writes '_'
		{"kubepodspod" + sd + ".slice", false},                    // "pod" follows a '-'
		{"pod" + strings.ToUpper(testUID), false},                 // Kubernetes writes lower case
		{"pod" + testUID[:35], false},                             // short
		{"pod" + testUID + "0", false},                            // long
		{"kubepods-besteffort-pod" + sd + ".scope", false},        // not a slice
		{"xpod" + testUID, false},                                 // cgroupfs: the whole name
		{strings.Repeat("a-", 41) + "pod" + sd + ".slice", false}, // past what the kernel reads
		{"", false},
	} {
		uid, ok := ParsePodCgroup(c.name)
		if ok != c.ok || ok && uid != testUID {
			t.Errorf("ParsePodCgroup(%q) = %q, %v; want %v", c.name, uid, ok, c.ok)
		}
	}
}

func TestParseContainerCgroup(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{testCID, true},
		{"cri-containerd-" + testCID + ".scope", true},
		{"crio-" + testCID + ".scope", true},
		{"crio-" + testCID, true},
		{"docker-" + testCID + ".scope", true},
		{"crio-conmon-" + testCID + ".scope", false},
		{"cri-containerd-" + testCID[:63] + ".scope", false},
		{strings.ToUpper(testCID), false},
		{"pod" + testUID, false},
	} {
		id, ok := ParseContainerCgroup(c.name)
		if ok != c.ok || ok && id != testCID {
			t.Errorf("ParseContainerCgroup(%q) = %q, %v; want %v", c.name, id, ok, c.ok)
		}
	}
	if got := ContainerID("containerd://" + testCID); got != testCID {
		t.Errorf("ContainerID strips to %q", got)
	}
}

// FuzzParsePodCgroup: the names come from the kernel (any directory anyone
// creates); a name taken for a pod's is exactly one of the two layouts
// around a well-formed uid.
func FuzzParsePodCgroup(f *testing.F) {
	sd := strings.ReplaceAll(testUID, "-", "_")
	for _, s := range []string{"pod" + testUID, "kubepods-burstable-pod" + sd + ".slice", "kubepods.slice",
		"besteffort", "cri-containerd-" + testCID + ".scope", "pod", "pod_.slice", "-pod" + sd + ".slice"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		uid, ok := ParsePodCgroup(name)
		if !ok {
			return
		}
		if !ParseUID(uid) {
			t.Fatalf("%q: uid %q is not one", name, uid)
		}
		sys := "pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
		if name != "pod"+uid && name != sys && !strings.HasSuffix(name, "-"+sys) {
			t.Fatalf("%q taken for pod %q", name, uid)
		}
		if len(name) >= maxName {
			t.Fatalf("%q is longer than the kernel reads", name)
		}
	})
}

func FuzzParseContainerCgroup(f *testing.F) {
	for _, s := range []string{testCID, "crio-" + testCID + ".scope", "docker-" + testCID, "crio-conmon-" + testCID} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, ok := ParseContainerCgroup(name)
		if !ok {
			return
		}
		if len(id) != IDLen || strings.Trim(id, "0123456789abcdef") != "" || !strings.Contains(name, id) {
			t.Fatalf("%q: id %q", name, id)
		}
	})
}
