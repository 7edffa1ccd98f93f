package kube

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
)

// fillIndex stores n pods of two containers each, as the watch would.
func fillIndex(x *index, n int) {
	for i := range n {
		uid := fmt.Sprintf("0f1c2d3e-aaaa-4bbb-8ccc-%012d", i)
		p := &event.Pod{UID: uid, Name: fmt.Sprintf("web-7d9f8b6c5-%05d", i), Namespace: "shop",
			Labels:   map[string]string{"app": "web", "pod-template-hash": "7d9f8b6c5", "tier": "front"},
			Workload: &event.Workload{Kind: "Deployment", Name: "web"}}
		x.upsert(p, []ctrInfo{
			{id: fmt.Sprintf("%064d", 2*i), name: "nginx", image: "docker.io/library/nginx:1.27", digest: "sha256:" + fmt.Sprintf("%064d", 1)},
			{id: fmt.Sprintf("%064d", 2*i+1), name: "sidecar", image: "docker.io/library/busybox:1.36", digest: "sha256:" + fmt.Sprintf("%064d", 2)},
		})
	}
}

// BenchmarkFill is what the table pays, under its lock, the first time it
// meets a container of a known pod (not per event: events read the
// container's reference, one atomic load).
func BenchmarkFill(b *testing.B) {
	x := newIndex(DefaultMaxPods, time.Minute)
	fillIndex(x, 1000)
	id := container.Identity{ID: fmt.Sprintf("%064d", 500), PodUID: fmt.Sprintf("0f1c2d3e-aaaa-4bbb-8ccc-%012d", 250)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		var c event.Container
		if !x.fill(id, &c, now) {
			b.Fatal("incomplete")
		}
	}
}

// TestIndexMemoryPer1000Pods reports the heap the index takes for 1000
// pods of two containers each (the informer's stripped store is extra).
func TestIndexMemoryPer1000Pods(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := newIndex(DefaultMaxPods, time.Minute)
	fillIndex(x, 1000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / 1000
	t.Logf("index: %.0f bytes per pod (two containers each), %.2f MiB per 1000 pods", per, per*1000/(1<<20))
	if per > 8<<10 {
		t.Errorf("%.0f bytes per pod: more than 8 KiB", per)
	}
	runtime.KeepAlive(x)
}
