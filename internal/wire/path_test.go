package wire

import "testing"

func TestPath(t *testing.T) {
	for raw, want := range map[string]string{
		"cat\x00bin\x00usr\x00": "/usr/bin/cat",
		"x\x00":                 "/x",
		"":                      "/",
		"\x00":                  "/",
		"a\x00\x00b\x00":        "/b/a",
		"memfd:x\x00":           "/memfd:x",
	} {
		if got := Path([]byte(raw)); got != want {
			t.Errorf("Path(%q) = %q, want %q", raw, got, want)
		}
	}
}
