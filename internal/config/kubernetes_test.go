package config

import (
	"strings"
	"testing"
	"time"
)

func TestKubernetesSection(t *testing.T) {
	c, err := Parse("vigil.yaml", []byte(`
kubernetes:
  mode: on
  kubeconfig: /etc/vigil/kubeconfig
  node: node-1
  cri_socket: /run/k3s/containerd/containerd.sock
  deleted_pod_retention: 10m
  max_pods: 2000
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Kubernetes{Mode: "on", Kubeconfig: "/etc/vigil/kubeconfig", Node: "node-1",
		CRISocket: "/run/k3s/containerd/containerd.sock", DeletedPodRetention: 10 * time.Minute, MaxPods: 2000}
	if c.Kubernetes != want {
		t.Errorf("got %+v, want %+v", c.Kubernetes, want)
	}
}

func TestKubernetesSectionErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"kubernetes:\n  mode: maybe\n", `vigil.yaml:2: kubernetes.mode: "maybe": want auto, on or off`},
		{"kubernetes:\n  mode: true\n", `vigil.yaml:2: kubernetes.mode: "true": want auto, on or off`},
		{"kubernetes:\n  max_pods: 0\n", "vigil.yaml:2: kubernetes.max_pods: 0 is too small"},
		{"kubernetes:\n  deleted_pod_retention: 0s\n", "vigil.yaml:2: kubernetes.deleted_pod_retention: want a positive duration"},
		{"kubernetes:\n  nodes: a\n", "vigil.yaml:2: kubernetes.nodes: unknown field; valid fields here: mode, kubeconfig, node"},
	} {
		_, err := Parse("vigil.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.yaml, err, c.want)
		}
	}
}
