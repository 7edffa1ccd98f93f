package rule

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// compileFiles compiles YAML texts as files a.yaml, b.yaml, … in order.
func compileFiles(t *testing.T, files ...string) (*Ruleset, error) {
	t.Helper()
	var srcs []Source
	for i, f := range files {
		srcs = append(srcs, Source{Name: fmt.Sprintf("%c.yaml", 'a'+i), Data: []byte(f)})
	}
	return Compile(srcs)
}

func mustCompile(t *testing.T, files ...string) *Ruleset {
	t.Helper()
	rs, err := compileFiles(t, files...)
	if err != nil {
		t.Fatalf("compile:\n%v", err)
	}
	return rs
}

// compileErrors compiles files that must fail and returns the errors as
// text, one per line.
func compileErrors(t *testing.T, files ...string) string {
	t.Helper()
	_, err := compileFiles(t, files...)
	if err == nil {
		t.Fatalf("compiled without errors:\n%s", strings.Join(files, "\n---\n"))
	}
	return err.Error()
}

var epoch = time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)

// execEv is a process_exec of binary with args by a process whose parent
// has exec id parent, at epoch+at.
func execEv(at time.Duration, binary string, args ...string) *event.Event {
	return &event.Event{Time: epoch.Add(at), Kind: event.KindProcessExec, Node: "n1",
		Process: &event.Process{PID: 100, Binary: binary, Args: append([]string{binary}, args...),
			ExecID: "e-" + binary, ParentExecID: "p1", Container: &event.Container{ID: event.HostContainerID}}}
}

func fileEv(at time.Duration, kind event.Kind, path string, flags ...string) *event.Event {
	return &event.Event{Time: epoch.Add(at), Kind: kind, Node: "n1",
		Process: &event.Process{PID: 200, Binary: "/usr/bin/cat", ExecID: "e-cat", ParentExecID: "p1"},
		File:    &event.File{Path: path, Flags: flags}}
}

// run evaluates events with a fresh engine and returns the alerts,
// drained at the end.
func run(rs *Ruleset, cfg Config, evs ...*event.Event) []*event.Alert {
	e := NewEngine(rs, cfg)
	var out []*event.Alert
	for _, ev := range evs {
		out = e.Eval(ev, out)
	}
	return e.Drain(out)
}

func ruleNames(alerts []*event.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.Rule.Name
	}
	return out
}
