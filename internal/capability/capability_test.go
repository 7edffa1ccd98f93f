package capability

import (
	"encoding/binary"
	"slices"
	"testing"
)

func value(magic uint32, words ...uint32) []byte {
	v := binary.LittleEndian.AppendUint32(nil, magic)
	for _, w := range words {
		v = binary.LittleEndian.AppendUint32(v, w)
	}
	return v
}

func TestParseFile(t *testing.T) {
	for _, c := range []struct {
		name string
		v    []byte
		want File
	}{
		{"v1 cap_net_raw+p", value(0x01000000, 1<<13, 0), File{Version: 1, Permitted: 1 << 13}},
		{"v2 cap_setuid+ep", value(0x02000001, 1<<7, 0, 0, 0), File{Version: 2, Permitted: 1 << 7, Effective: true}},
		{"v2 high bits", value(0x02000000, 0, 1, 1<<7, 0), File{Version: 2, Permitted: 1 << 39, Inheritable: 1}},
		{"v3 rootid", value(0x03000001, 1<<21, 0, 0, 0, 100000), File{Version: 3, Permitted: 1 << 21, Effective: true, RootID: 100000}},
	} {
		got, err := ParseFile(c.v)
		if err != nil || got != c.want {
			t.Errorf("%s: ParseFile = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	for _, bad := range [][]byte{nil, {1, 2}, value(0x04000000, 0, 0), value(0x02000000, 1, 2), value(0x03000000, 0, 0, 0, 0)} {
		if f, err := ParseFile(bad); err == nil {
			t.Errorf("ParseFile(%x) = %+v, want an error", bad, f)
		}
	}
}

func TestList(t *testing.T) {
	if got := List(1<<7 | 1<<21 | 1<<63); !slices.Equal(got, []string{"CAP_SETUID", "CAP_SYS_ADMIN", "CAP_63"}) {
		t.Errorf("List = %v", got)
	}
	if got := List(0); got == nil || len(got) != 0 {
		t.Errorf("List(0) = %#v, want empty, not nil", got)
	}
}
