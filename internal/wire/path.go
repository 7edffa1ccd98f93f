package wire

import (
	"bytes"
	"strings"
)

// Path joins the components of a path as bpf/lib/path.h writes them, leaf
// first and NUL-terminated ("cat\0bin\0usr\0"), into "/usr/bin/cat". The
// root, or nothing, is "/".
func Path(leafFirst []byte) string {
	parts := bytes.Split(bytes.TrimRight(leafFirst, "\x00"), []byte{0})
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		if len(parts[i]) == 0 {
			continue
		}
		b.WriteByte('/')
		b.Write(parts[i])
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}
