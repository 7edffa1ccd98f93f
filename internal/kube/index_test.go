package kube

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
)

const (
	uidA = "0f1c2d3e-aaaa-4bbb-8ccc-000000000001"
	ctrA = "aaaa000000000000000000000000000000000000000000000000000000000001"
)

func podA(labels map[string]string) *event.Pod {
	return &event.Pod{UID: uidA, Name: "web", Namespace: "shop", Labels: labels}
}

// TestIndexPublishesOnlyChanges: a pod's update reaches its containers
// when a field events show changed, and only then.
func TestIndexPublishesOnlyChanges(t *testing.T) {
	x := newIndex(16, time.Minute)
	ups, _, ok := x.upsert(podA(map[string]string{"app": "web"}), []ctrInfo{{id: ctrA, name: "nginx", image: "nginx:1", digest: "sha256:1"}})
	if !ok || len(ups) != 1 || ups[0].pub.name != "nginx" || ups[0].pub.pod.Labels["app"] != "web" {
		t.Fatalf("first: %+v ok %v", ups, ok)
	}
	first := ups[0].pub.pod
	if ups, _, _ = x.upsert(podA(map[string]string{"app": "web"}), []ctrInfo{{id: ctrA, name: "nginx", image: "nginx:1", digest: "sha256:1"}}); len(ups) != 0 {
		t.Errorf("unchanged pod published %+v", ups)
	}
	ups, _, _ = x.upsert(podA(map[string]string{"app": "web", "tier": "front"}), nil)
	if len(ups) != 1 || ups[0].pub.pod == first || ups[0].pub.pod.Labels["tier"] != "front" || ups[0].pub.name != "nginx" {
		t.Errorf("label change: %+v", ups)
	}
}

// TestIndexFillAndPlaceholder: a container met before its pod is
// remembered, and the pod's arrival publishes to it.
func TestIndexFillAndPlaceholder(t *testing.T) {
	x := newIndex(16, time.Minute)
	now := time.Now()
	var c event.Container
	if x.fill(container.Identity{ID: ctrA, PodUID: uidA}, &c, now) || c.Pod != nil {
		t.Fatalf("unknown pod filled %+v", c)
	}
	if st := x.stats(); st.placeholders != 1 || st.pods != 0 {
		t.Errorf("stats %+v", st)
	}
	ups, _, _ := x.upsert(podA(nil), nil)
	if len(ups) != 1 || ups[0].id != ctrA || ups[0].pub.pod.Name != "web" {
		t.Errorf("pod arrival: %+v", ups)
	}
	if st := x.stats(); st.placeholders != 0 || st.pods != 1 {
		t.Errorf("stats %+v", st)
	}
	c = event.Container{}
	if x.fill(container.Identity{ID: ctrA, PodUID: uidA}, &c, now) || c.Pod == nil || c.Pod.Name != "web" {
		t.Errorf("pod known, container not: complete or no pod: %+v", c)
	}
}

// TestIndexRetentionAndCap: a deleted pod stays for the retention; a
// full index evicts the oldest deleted pod, and refuses live pods when
// none is deleted, counting both.
func TestIndexRetentionAndCap(t *testing.T) {
	x := newIndex(3, time.Minute)
	t0 := time.Now()
	uid := func(i int) string { return fmt.Sprintf("0f1c2d3e-aaaa-4bbb-8ccc-%012d", i) }
	for i := range 3 {
		x.upsert(&event.Pod{UID: uid(i), Name: fmt.Sprint(i)}, nil)
	}
	x.remove(uid(0), t0)
	x.expire(t0.Add(30 * time.Second))
	if st := x.stats(); st.pods != 2 || st.retained != 1 {
		t.Fatalf("before retention: %+v", st)
	}
	x.upsert(&event.Pod{UID: uid(3)}, nil) // evicts pod 0
	if st := x.stats(); st.pods != 3 || st.retained != 0 || st.evictions != 1 {
		t.Fatalf("after cap: %+v", st)
	}
	if _, _, ok := x.upsert(&event.Pod{UID: uid(4)}, nil); ok {
		t.Error("stored a fourth live pod in an index of three")
	}
	if st := x.stats(); st.evictions != 2 {
		t.Errorf("refused pod not counted: %+v", st)
	}
	x.remove(uid(1), t0)
	x.expire(t0.Add(time.Minute))
	if st := x.stats(); st.pods != 2 || st.retained != 0 || len(x.pods) != 2 {
		t.Errorf("after retention: %+v", st)
	}
}
