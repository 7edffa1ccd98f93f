package event

import "testing"

func TestParseImage(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ImageRef
	}{
		{"nginx", ImageRef{"nginx", "latest", ""}},
		{"nginx:1.25", ImageRef{"nginx", "1.25", ""}},
		{"docker.io/library/nginx:1.25", ImageRef{"docker.io/library/nginx", "1.25", ""}},
		{"localhost:5000/x:1", ImageRef{"localhost:5000/x", "1", ""}},
		{"localhost:5000/x", ImageRef{"localhost:5000/x", "latest", ""}},
		{"[fd00::1]:5000/team/x:v2", ImageRef{"[fd00::1]:5000/team/x", "v2", ""}},
		{"x@sha256:abc", ImageRef{"x", "", "sha256:abc"}},
		{"registry.example.com:5000/shop/api:2.4.1@sha256:5d1e", ImageRef{"registry.example.com:5000/shop/api", "2.4.1", "sha256:5d1e"}},
		{"localhost:5000/x@sha256:abc", ImageRef{"localhost:5000/x", "", "sha256:abc"}},
		{"sha256:0123abcd", ImageRef{"sha256:0123abcd", "", ""}}, // an image id, not a reference
	} {
		if got := ParseImage(c.in); got != c.want {
			t.Errorf("ParseImage(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestShortContainerID(t *testing.T) {
	for in, want := range map[string]string{
		"3f2a9c41d8e7b6a5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1": "3f2a9c41d8e7",
		"3f2a9c41d8e7": "3f2a9c41d8e7", HostContainerID: HostContainerID, "": "",
	} {
		if got := ShortContainerID(in); got != want {
			t.Errorf("ShortContainerID(%q) = %q, want %q", in, got, want)
		}
	}
}
