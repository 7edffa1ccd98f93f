package wire

import "testing"

func TestErrnoName(t *testing.T) {
	for _, c := range []struct {
		ret  int64
		want string
	}{
		{-1, "EPERM"},
		{-2, "ENOENT"},
		{-4000, "errno 4000"},
		{0, ""},
		{5, ""},
		{-4096, ""},
	} {
		if got := ErrnoName(c.ret); got != c.want {
			t.Errorf("ErrnoName(%d) = %q, want %q", c.ret, got, c.want)
		}
	}
}
