package suggest

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"process.binary", "process.name", "file.path"}
	for s, want := range map[string]string{"process.binay": "process.binary", "file.pth": "file.path", "network.dport": "", "": ""} {
		if got := Nearest(s, names); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", s, got, want)
		}
	}
	if d := distance("kitten", "sitting"); d != 3 {
		t.Errorf("distance = %d, want 3", d)
	}
}
