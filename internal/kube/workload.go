package kube

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-sec/vigil/internal/event"
)

// templateHashLabel is the label a Deployment's ReplicaSet puts on its pods,
// and the suffix of the ReplicaSet's name.
const templateHashLabel = "pod-template-hash"

// cronJobSuffixDigits is the least length of the digits a CronJob appends
// to its Jobs' names: the scheduled time in minutes since the epoch, eight
// digits since 1989. A Job a user named "backup-2" stays a Job.
const cronJobSuffixDigits = 8

// workload names the controller at the top of a pod's owner references,
// read from the pod alone: the agent's RBAC is get/list/watch on pods, so
// it cannot fetch the ReplicaSet or the Job to follow their own owners.
// The names the controllers give what they create say it instead: a
// Deployment's ReplicaSet is "<deployment>-<pod-template-hash>", a
// CronJob's Job "<cronjob>-<scheduled minutes>". A pod without a
// controlling owner (a bare pod) has no workload (nil), rather than a
// made-up kind "Pod": rules then test for absence, and a Pod kind never
// names a controller. A static pod's mirror is owned by its Node, which
// comes out as kind "Node".
func workload(labels map[string]string, owners []metav1.OwnerReference) *event.Workload {
	var own *metav1.OwnerReference
	for i := range owners {
		if owners[i].Controller != nil && *owners[i].Controller {
			own = &owners[i]
			break
		}
	}
	if own == nil {
		return nil
	}
	switch own.Kind {
	case "ReplicaSet":
		if h := labels[templateHashLabel]; h != "" {
			if name, ok := strings.CutSuffix(own.Name, "-"+h); ok && name != "" {
				return &event.Workload{Kind: "Deployment", Name: name}
			}
		}
	case "Job":
		if name, ok := cronJobName(own.Name); ok {
			return &event.Workload{Kind: "CronJob", Name: name}
		}
	}
	return &event.Workload{Kind: own.Kind, Name: own.Name}
}

// cronJobName reads "<cronjob>-<digits>" with at least cronJobSuffixDigits
// digits.
func cronJobName(job string) (string, bool) {
	i := strings.LastIndexByte(job, '-')
	if i <= 0 || len(job)-i-1 < cronJobSuffixDigits {
		return "", false
	}
	for _, c := range job[i+1:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return job[:i], true
}
