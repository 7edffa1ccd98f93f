package kube

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestWorkload(t *testing.T) {
	yes, no := true, false
	own := func(kind, name string, ctl *bool) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: ctl}}
	}
	hash := map[string]string{templateHashLabel: "7d9f8b6c5"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   *event.Workload
	}{
		{"bare pod", nil, nil, nil},
		{"owner that does not control", nil, own("ReplicaSet", "web-7d9f8b6c5", &no), nil},
		{"deployment", hash, own("ReplicaSet", "web-7d9f8b6c5", &yes), &event.Workload{Kind: "Deployment", Name: "web"}},
		{"replicaset of its own", hash, own("ReplicaSet", "web", &yes), &event.Workload{Kind: "ReplicaSet", Name: "web"}},
		{"replicaset without the label", nil, own("ReplicaSet", "web-7d9f8b6c5", &yes), &event.Workload{Kind: "ReplicaSet", Name: "web-7d9f8b6c5"}},
		{"statefulset", nil, own("StatefulSet", "db", &yes), &event.Workload{Kind: "StatefulSet", Name: "db"}},
		{"daemonset", nil, own("DaemonSet", "vigil", &yes), &event.Workload{Kind: "DaemonSet", Name: "vigil"}},
		{"cronjob", nil, own("Job", "backup-29412345", &yes), &event.Workload{Kind: "CronJob", Name: "backup"}},
		{"job with a short number", nil, own("Job", "backup-2", &yes), &event.Workload{Kind: "Job", Name: "backup-2"}},
		{"job with letters", nil, own("Job", "backup-2941234x", &yes), &event.Workload{Kind: "Job", Name: "backup-2941234x"}},
		{"static pod's mirror", nil, own("Node", "node-1", &yes), &event.Workload{Kind: "Node", Name: "node-1"}},
	} {
		got := workload(c.labels, c.owners)
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%s: workload %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestContainerIDAndDigest(t *testing.T) {
	if got := containerID("containerd://abc"); got != "abc" {
		t.Errorf("containerID: %q", got)
	}
	if got := digest("docker.io/library/busybox@sha256:ab12"); got != "sha256:ab12" {
		t.Errorf("digest: %q", got)
	}
	if got := digest("sha256:ab12"); got != "" {
		t.Errorf("digest of an image id: %q, want none", got)
	}
}
