package main

import "testing"

func TestParseErrno(t *testing.T) {
	for in, want := range map[string]uint{"EPERM": 1, "eacces": 13, "ENOSYS": 38, "95": 95} {
		got, err := parseErrno(in)
		if err != nil || got != want {
			t.Errorf("parseErrno(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "4096", "EWHAT", "-1"} {
		if _, err := parseErrno(bad); err == nil {
			t.Errorf("parseErrno(%q) accepted", bad)
		}
	}
}
