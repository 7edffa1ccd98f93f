package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindPodCgroup finds a pod's cgroup in fixture trees laid out as the
// kubelet's cgroupfs and systemd drivers lay them out.
func TestFindPodCgroup(t *testing.T) {
	const uid = "0f4f1d2e-3c4b-4a5d-8e6f-7a8b9c0d1e2f"
	const cid = "3f4e1a2b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b"
	const other = "aaaaaaaa-3c4b-4a5d-8e6f-7a8b9c0d1e2f"
	for _, layout := range []struct{ pod, ctr string }{
		{"kubepods/besteffort/pod" + uid, cid},
		{"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice", "cri-containerd-" + cid + ".scope"},
	} {
		root := t.TempDir()
		for _, d := range []string{
			filepath.Join(layout.pod, layout.ctr),
			filepath.Join(filepath.Dir(layout.pod), "pod"+other, cid[:63]+"0"),
		} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		got, err := findPodCgroup(root, uid)
		if err != nil || got != filepath.Join(root, layout.pod) {
			t.Errorf("%s: got %q, %v", layout.pod, got, err)
		}
		if _, err := findPodCgroup(root, "11111111-3c4b-4a5d-8e6f-7a8b9c0d1e2f"); err == nil {
			t.Errorf("%s: a pod without cgroups was found", layout.pod)
		}
	}
}
