package fileflags

import (
	"slices"
	"testing"
)

// TestOpen holds the names the file sensor's events carry.
func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		flags uint32
		want  []string
	}{
		{0, []string{"O_RDONLY"}},
		{0o1 | 0o100 | 0o1000, []string{"O_WRONLY", "O_CREAT", "O_TRUNC"}},
		{0o2 | 0o20200000, []string{"O_RDWR", "O_TMPFILE"}},
		{0o10000000 | 0o2000000, []string{"O_CLOEXEC", "O_PATH"}},
		{0o4010000, []string{"O_RDONLY", "O_SYNC"}},
		{1 << 30, []string{"O_RDONLY", "0x40000000"}},
	} {
		if got := Open(tc.flags); !slices.Equal(got, tc.want) {
			t.Errorf("%#o: %v, want %v", tc.flags, got, tc.want)
		}
	}
}

// TestOpenAsTheFileGuardSees holds the names of the file guard's records.
func TestOpenAsTheFileGuardSees(t *testing.T) {
	for flags, want := range map[uint32][]string{
		0:                     {"O_RDONLY"},
		0o1 | 0o100 | 0o200:   {"O_WRONLY", "O_CREAT", "O_EXCL"},
		0o10000000 | 0o400000: {"O_NOFOLLOW", "O_PATH"},
		0o2 | 0o20200000:      {"O_RDWR", "O_TMPFILE"},
		0o2 | 0o4010000:       {"O_RDWR", "O_SYNC"},
		0o1 | 0x40000000:      {"O_WRONLY", "0x40000000"},
	} {
		if got := Open(flags); !slices.Equal(got, want) {
			t.Errorf("Open(%#o) = %v, want %v", flags, got, want)
		}
	}
}
