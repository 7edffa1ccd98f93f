package main

import (
	"strings"
	"testing"
)

const good = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: a
---
# a comment only
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
        - name: c
          image: x:1
          ports: [{name: metrics, containerPort: 9549}]
          readinessProbe: {httpGet: {path: /readyz, port: metrics}}
          resources: {requests: {cpu: 100m}, limits: {memory: 1Gi}}
          securityContext: {privileged: true}
          volumeMounts: [{name: bpf, mountPath: /sys/fs/bpf, mountPropagation: Bidirectional}]
      volumes: [{name: bpf, hostPath: {path: /sys/fs/bpf}}]
`

func TestCheckAcceptsGood(t *testing.T) {
	n, errs := Check("good.yaml", []byte(good), nil)
	if n != 2 || len(errs) != 0 {
		t.Fatalf("%d documents, errors %v", n, errs)
	}
}

func TestCheckFindsMistakes(t *testing.T) {
	for _, c := range []struct{ name, from, to, want string }{
		{"unknown field", "hostPath: {path: /sys/fs/bpf}", "hostPath: {path: /sys/fs/bpf, tpye: Directory}", `unknown field "spec.template.spec.volumes[0].hostPath.tpye"`},
		{"wrong type", "containerPort: 9549", "containerPort: many", "containerPort"},
		{"selector", "matchLabels: {app: d}", "matchLabels: {app: e}", "does not match"},
		{"missing volume", "name: bpf, mountPath", "name: bfp, mountPath", `no volume "bfp"`},
		{"probe port", "port: metrics}", "port: metric}", `port "metric"`},
		{"bidirectional", "privileged: true", "privileged: false", "Bidirectional"},
		{"unknown kind", "kind: ServiceAccount", "kind: ServiceAcount", "no kind"},
	} {
		bad := strings.Replace(good, c.from, c.to, 1)
		_, errs := Check("bad.yaml", []byte(bad), nil)
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%s: errors %v, want one saying %q", c.name, errs, c.want)
		}
	}
}
