package wire

import (
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestStrings(t *testing.T) {
	tab := NewStrings(4, 8)
	a := tab.Bytes([]byte("bash"))
	b := tab.Bytes([]byte("bash"))
	if a != "bash" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("%q and %q: want one shared copy", a, b)
	}
	long := []byte("longer than eight")
	if x, y := tab.Bytes(long), tab.Bytes(long); x != string(long) || unsafe.StringData(x) == unsafe.StringData(y) {
		t.Errorf("a string over the length bound is kept (%q)", x)
	}
	for i := range 10 {
		tab.Bytes([]byte(strconv.Itoa(i)))
	}
	if tab.Len() > 4 {
		t.Errorf("%d strings kept, want at most 4", tab.Len())
	}
	p := tab.Path([]byte("sh\x00bin\x00"))
	if p != "/bin/sh" || unsafe.StringData(p) != unsafe.StringData(tab.Path([]byte("sh\x00bin\x00\x00"))) {
		t.Errorf("Path = %q, want one shared /bin/sh", p)
	}
	var none *Strings
	if none.Bytes([]byte("x")) != "x" || none.Path(nil) != "/" || none.Len() != 0 {
		t.Error("a nil table must still convert")
	}
}

func TestPathLongerThanTheStackBuffer(t *testing.T) {
	comps := make([]string, 40)
	for i := range comps {
		comps[i] = "component" + strconv.Itoa(i)
	}
	leafFirst := strings.Join(comps, "\x00") + "\x00"
	want := ""
	for i := len(comps) - 1; i >= 0; i-- {
		want += "/" + comps[i]
	}
	if got := Path([]byte(leafFirst)); got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}
