package podscope

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindPod: the kubelet's layouts, on a plain directory tree: kubepods
// found below the root, pods found in it or in a QoS class, containers in
// a pod.
func TestFindPod(t *testing.T) {
	root := t.TempDir()
	sd := strings.ReplaceAll(testUID, "-", "_")
	other := "99999999-8888-4777-8666-555555555555"
	for _, d := range []string{
		"kubelet/kubepods/burstable/pod" + testUID + "/" + testCID,
		"kubelet/kubepods/burstable/pod" + testUID + "/crio-conmon-" + testCID,
		"kubelet/kubepods/pod" + other,
		"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + sd + ".slice/cri-containerd-" + testCID + ".scope",
		"system.slice/pod" + other, // not below kubepods: never looked at
		"a/b/c/kubepods",           // deeper than rootDepth
	} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	roots := KubepodsRoots(root)
	want := []string{filepath.Join(root, "kubelet/kubepods"), filepath.Join(root, "kubepods.slice")}
	if len(roots) != 2 || !(roots[0] == want[0] && roots[1] == want[1] || roots[0] == want[1] && roots[1] == want[0]) {
		t.Fatalf("roots %v, want %v", roots, want)
	}
	cgfs := []string{want[0]}
	dir, ok := FindPod(cgfs, testUID)
	if !ok || dir != filepath.Join(root, "kubelet/kubepods/burstable/pod"+testUID) {
		t.Errorf("cgroupfs pod: %q %v", dir, ok)
	}
	if c := Containers(dir); len(c) != 1 || c[testCID] != filepath.Join(dir, testCID) {
		t.Errorf("containers %v", c)
	}
	if dir, ok := FindPod(cgfs, other); !ok || filepath.Base(dir) != "pod"+other {
		t.Errorf("guaranteed pod: %q %v", dir, ok)
	}
	sys := filepath.Join(root, "kubepods.slice")
	if dir, ok := FindPod([]string{sys}, testUID); !ok || !strings.HasSuffix(dir, "-pod"+sd+".slice") {
		t.Errorf("systemd pod: %q %v", dir, ok)
	}
	if _, ok := FindPod(roots, "00000000-0000-4000-8000-000000000000"); ok {
		t.Error("found a pod that has no cgroup")
	}
}
