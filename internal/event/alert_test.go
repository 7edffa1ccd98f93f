package event

import "testing"

func TestIsMITRE(t *testing.T) {
	for tag, want := range map[string]bool{"T1059": true, "T1059.004": true, "T105": false, "T1059.04": false,
		"T1059.": false, "T10590": false, "shell": false, "t1059": false} {
		if IsMITRE(tag) != want {
			t.Errorf("IsMITRE(%q) = %v", tag, !want)
		}
	}
}
