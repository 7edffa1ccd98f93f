package kube

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const kubeconfigYAML = `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: agent
  user: {token: abc}
contexts:
- name: lab
  context: {cluster: lab, user: agent}
current-context: lab
`

func TestResolve(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	none := env(nil)

	// auto without a kubeconfig or a pod's environment: off, silently
	if c, err := Resolve(Options{Getenv: none}); c != nil || err != nil {
		t.Errorf("auto, nothing configured: %+v, %v; want nil, nil", c, err)
	}
	if c, err := Resolve(Options{Mode: ModeOn, Getenv: none}); c != nil || !errors.Is(err, ErrNotConfigured) {
		t.Errorf("on, nothing configured: %+v, %v; want ErrNotConfigured", c, err)
	}
	if c, err := Resolve(Options{Mode: ModeOff, Kubeconfig: path, Getenv: none}); c != nil || err != nil {
		t.Errorf("off: %+v, %v", c, err)
	}
	if _, err := Resolve(Options{Mode: "yes", Getenv: none}); err == nil {
		t.Error("mode yes accepted")
	}
	c, err := Resolve(Options{Getenv: env(map[string]string{"KUBECONFIG": path, "NODE_NAME": "node-7"})})
	if err != nil || c == nil {
		t.Fatalf("auto with KUBECONFIG: %+v, %v", c, err)
	}
	if c.Node != "node-7" || c.REST.Host != "https://127.0.0.1:6443" || c.REST.BearerToken != "abc" {
		t.Errorf("from KUBECONFIG: node %q host %q", c.Node, c.REST.Host)
	}
	c, err = Resolve(Options{Kubeconfig: path, Node: "node-8", Getenv: env(map[string]string{"NODE_NAME": "node-7"})})
	if err != nil || c.Node != "node-8" {
		t.Errorf("--node wins over NODE_NAME: %+v, %v", c, err)
	}
	if _, err := Resolve(Options{Kubeconfig: path + ".missing", Getenv: none}); err == nil {
		t.Error("a missing kubeconfig given explicitly was accepted")
	}
}
