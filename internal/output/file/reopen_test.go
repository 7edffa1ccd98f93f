package file

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/output"
)

// After logrotate moves the file away, Reopen sends the next lines to a
// new file at the path; what was buffered ends in the moved file.
func TestReopenAfterLogrotateMove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.json")
	s, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WriteLine([]byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil { // logrotate's move
		t.Fatal(err)
	}
	// the output is a Reopener to the fan-out
	var ro output.Reopener = s
	if err := ro.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteLine([]byte(`{"n":2}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	moved, _ := os.ReadFile(path + ".1")
	fresh, _ := os.ReadFile(path)
	if string(moved) != "{\"n\":1}\n" || string(fresh) != "{\"n\":2}\n" {
		t.Fatalf("moved file %q, new file %q", moved, fresh)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != Mode {
		t.Fatalf("new file: %v, %v", st.Mode(), err)
	}
	if s.Rotations() != 0 {
		t.Errorf("a reopen counted as a rotation")
	}
}
