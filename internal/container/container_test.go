package container

import "testing"

const (
	id1 = "3f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a"
	id2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	pod = "8d7c6b5a-4f3e-2d1c-0b9a-8f7e6d5c4b3a"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		want       Identity
		ok         bool
	}{
		{"host root", "/", Identity{}, false},
		{"host service", "/system.slice/sshd.service", Identity{}, false},
		{"user session", "/user.slice/user-1000.slice/session-2.scope", Identity{}, false},
		{"docker cgroupfs", "/docker/" + id1, Identity{ID: id1, Runtime: RuntimeDocker}, true},
		{"docker systemd", "/system.slice/docker-" + id1 + ".scope", Identity{ID: id1, Runtime: RuntimeDocker}, true},
		{"containerd cri systemd",
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscored(pod) + ".slice/cri-containerd-" + id1 + ".scope",
			Identity{ID: id1, Runtime: RuntimeContainerd, PodUID: pod}, true},
		{"containerd cri cgroupfs", "/kubepods/besteffort/pod" + pod + "/" + id1,
			Identity{ID: id1, Runtime: RuntimeContainerd, PodUID: pod}, true},
		{"guaranteed pod cgroupfs", "/kubepods/pod" + pod + "/" + id1,
			Identity{ID: id1, Runtime: RuntimeContainerd, PodUID: pod}, true},
		{"cri-o systemd",
			"/kubepods.slice/kubepods-pod" + underscored(pod) + ".slice/crio-" + id1 + ".scope",
			Identity{ID: id1, Runtime: RuntimeCRIO, PodUID: pod}, true},
		{"cri-o cgroupfs", "/kubepods/burstable/pod" + pod + "/crio-" + id1,
			Identity{ID: id1, Runtime: RuntimeCRIO, PodUID: pod}, true},
		{"podman systemd", "/machine.slice/libpod-" + id1 + ".scope", Identity{ID: id1, Runtime: RuntimePodman}, true},
		{"podman rootless", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope",
			Identity{ID: id1, Runtime: RuntimePodman}, true},
		{"podman cgroupfs", "/libpod_parent/libpod-" + id1, Identity{ID: id1, Runtime: RuntimePodman}, true},
		{"podman conmon is not the container", "/machine.slice/libpod-conmon-" + id1 + ".scope", Identity{}, false},
		{"systemd inside a container", "/system.slice/docker-" + id1 + ".scope/init.scope",
			Identity{ID: id1, Runtime: RuntimeDocker}, true},
		{"docker in docker: the inner one", "/docker/" + id1 + "/docker/" + id2, Identity{ID: id2, Runtime: RuntimeDocker}, true},
		{"lxc", "/lxc.payload.web01", Identity{ID: "web01", Runtime: RuntimeLXC}, true},
		{"not an id: too short", "/docker/3f2a4c6e8b0d", Identity{}, false},
		{"not an id: upper case", "/docker/" + "3F2A4C6E8B0D1F3A5C7E9B1D3F5A7C9E1B3D5F7A9C1E3B5D7F9A1C3E5B7D9F1A", Identity{}, false},
		{"pod without container", "/kubepods/burstable/pod" + pod, Identity{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.path)
			if ok != tc.ok || got != tc.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestResolverSharesValues(t *testing.T) {
	r := NewResolver(2)
	a := r.Resolve("/docker/" + id1)
	if a.ID != id1 || a.Runtime != RuntimeDocker {
		t.Fatalf("resolve = %+v", a)
	}
	if b := r.Resolve("/docker/" + id1); b != a {
		t.Error("the same path resolved twice gave two values: the cache is not used")
	}
	if h := r.Resolve("/"); h.ID != "host" || h.Runtime != RuntimeHost {
		t.Errorf("host = %+v", h)
	}
	r.Resolve("/docker/" + id2)
	if r.Len() > 2 {
		t.Errorf("cache holds %d paths, cap is 2", r.Len())
	}
	if p := r.Resolve("/kubepods/pod" + pod + "/" + id1); p.Pod == nil || p.Pod.UID != pod {
		t.Errorf("pod container = %+v, want pod uid %s", p, pod)
	}
}

func underscored(uid string) string {
	b := []byte(uid)
	for i := range b {
		if b[i] == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}
