package output

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func podAlert(rule, ns, pod, workload string) *event.Alert {
	c := &event.Container{ID: event.HostContainerID}
	if pod != "" {
		c = &event.Container{ID: "c-" + pod, Pod: &event.Pod{UID: "u-" + pod, Namespace: ns, Name: pod,
			Workload: &event.Workload{Kind: "Deployment", Name: workload}}}
	}
	return &event.Alert{Kind: event.KindAlert, Rule: event.RuleRef{Name: rule, Severity: event.SeverityHigh},
		Event: &event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: 1, Container: c}}}
}

func counts(c *alertCounts) []string {
	var out []string
	for _, a := range c.snapshot() {
		out = append(out, fmt.Sprintf("%s %s/%s/%s=%d", a.Rule, a.Namespace, a.Pod, a.Workload, a.Count))
	}
	slices.Sort(out)
	return out
}

// TestAlertCountsByPod: alerts are counted apart by the pod labels asked
// for and only those; none are asked by default.
func TestAlertCountsByPod(t *testing.T) {
	alerts := []*event.Alert{
		podAlert("r", "shop", "api-1", "api"), podAlert("r", "shop", "api-2", "api"),
		podAlert("r", "dev", "api-3", "api"), podAlert("r", "", "", ""),
	}
	for _, c := range []struct {
		labels PodLabels
		want   []string
	}{
		{PodLabels{}, []string{"r //=4"}},
		{PodLabels{Namespace: true}, []string{"r //=1", "r dev//=1", "r shop//=2"}},
		{PodLabels{Namespace: true, Workload: true}, []string{"r //=1", "r dev//api=1", "r shop//api=2"}},
		{PodLabels{Pod: true}, []string{"r //=1", "r /api-1/=1", "r /api-2/=1", "r /api-3/=1"}},
	} {
		ac := &alertCounts{labels: c.labels}
		for _, al := range alerts {
			ac.add(al)
		}
		if got := counts(ac); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.labels, got, c.want)
		}
	}
}

// TestAlertCountsByPodBounded: pod churn cannot grow the counts past the
// cap; what comes after is counted under OtherPod, none lost.
func TestAlertCountsByPodBounded(t *testing.T) {
	ac := &alertCounts{labels: PodLabels{Namespace: true, Pod: true}}
	n := MaxPodAlertKeys + 100
	for i := 0; i < n; i++ {
		ac.add(podAlert("r", "ci", fmt.Sprintf("job-%d", i), "job"))
	}
	ac.add(podAlert("r", "", "", "")) // a host process's alert keeps its empty labels
	snap := ac.snapshot()
	// the cap, then one key of folded labels (and the host's) per rule,
	// severity and action
	if len(snap) > MaxPodAlertKeys+2 {
		t.Errorf("%d keys, want at most %d", len(snap), MaxPodAlertKeys+2)
	}
	var total, other, host uint64
	for _, a := range snap {
		total += a.Count
		if a.Pod == OtherPod && a.Namespace == OtherPod {
			other += a.Count
		}
		if a.Pod == "" && a.Namespace == "" {
			host += a.Count
		}
	}
	if total != uint64(n)+1 || other != 100 || host != 1 {
		t.Errorf("total %d (want %d), under %s %d (want 100), host %d (want 1)", total, n+1, OtherPod, other, host)
	}
	if got := (PodLabels{Namespace: true, Workload: true}).Names(); !slices.Equal(got, []string{"namespace", "workload"}) {
		t.Errorf("names %v", got)
	}
}
