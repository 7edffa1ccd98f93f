package proctree

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRename: a renamed process is a new copy with the new comm, stored
// for what comes next; what was published before keeps the old name, its
// cached JSON included; an exited or unknown pid is not renamed.
func TestRename(t *testing.T) {
	tr := New(Config{MaxEntries: 10, ExitGrace: time.Minute})
	old := proc(100, 1, "/usr/bin/sleep", 0)
	old.Comm = "sleep"
	tr.Put(old)
	before, err := json.Marshal(old) // cached by Seal's first encoding
	if err != nil {
		t.Fatal(err)
	}
	renamed := tr.Rename(100, "kworker/0:1")
	if renamed == nil || renamed == old || renamed.Comm != "kworker/0:1" || renamed.Binary != "/usr/bin/sleep" {
		t.Fatalf("renamed = %+v, want a copy named kworker/0:1", renamed)
	}
	if got := tr.Get(100); got != renamed {
		t.Errorf("the tree holds %+v, want the renamed copy", got)
	}
	if after, _ := json.Marshal(renamed); !strings.Contains(string(after), `"comm":"kworker/0:1"`) {
		t.Errorf("the copy encodes as %s", after)
	}
	if again, _ := json.Marshal(old); old.Comm != "sleep" || string(again) != string(before) {
		t.Errorf("the published process changed: comm %q, %s", old.Comm, again)
	}
	if same := tr.Rename(100, "kworker/0:1"); same != renamed {
		t.Errorf("a rename to the same name made another copy")
	}
	tr.Exit(100, t0)
	if tr.Rename(100, "x") != nil || tr.Rename(999, "x") != nil {
		t.Error("an exited or unknown pid was renamed")
	}
}
