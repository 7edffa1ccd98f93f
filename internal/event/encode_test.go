package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSealedProcessEncodesOnceAndCopiesDoNotShare(t *testing.T) {
	p := &Process{PID: 1, Binary: "/bin/a", Args: []string{"a"}}
	p.Seal()
	first, err := json.Marshal(&Event{Kind: KindProcessExec, Process: p})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(first), `"binary":"/bin/a"`) {
		t.Fatalf("encoding lacks the binary: %s", first)
	}
	if p.cache.raw.Load() == nil {
		t.Fatal("a sealed process did not keep its encoding")
	}

	clone := p.Clone()
	clone.Binary = "/bin/b"
	raw, _ := json.Marshal(clone)
	if !strings.Contains(string(raw), `"binary":"/bin/b"`) {
		t.Errorf("a clone encoded its original: %s", raw)
	}
	copied := *p // a plain copy still points at p's cache
	copied.Binary = "/bin/c"
	raw, _ = json.Marshal(&copied)
	if !strings.Contains(string(raw), `"binary":"/bin/c"`) {
		t.Errorf("a struct copy encoded its original: %s", raw)
	}
	var back Process
	if err := json.Unmarshal(raw, &back); err != nil || back.Binary != "/bin/c" || back.PID != 1 {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

// TestContainerRefIsNotEncoded: a process encodes the Container it was
// published with, whatever its reference holds by now; the tree publishes
// a new Process to show a newer value.
func TestContainerRefIsNotEncoded(t *testing.T) {
	p := sampleProcess(7, "/usr/bin/top")
	p.Container = &Container{ID: "c1", Runtime: "containerd"}
	p.ContainerRef = NewContainerRef(p.Container)
	p.Seal()
	p.ContainerRef.Store(&Container{ID: "c1", Runtime: "containerd", Name: "web"})
	raw, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), `"web"`) || !strings.Contains(string(raw), `"container":{"id":"c1","runtime":"containerd"}`) {
		t.Errorf("encoded %s, want the published container only", raw)
	}
}
