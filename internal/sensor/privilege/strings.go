package privilege

import (
	"fmt"
	"path"
	"strings"

	"github.com/vigil-sec/vigil/internal/wire"
)

// blob reads the strings a record references after its fixed part,
// remembering the first reference that overruns it.
type blob struct {
	data []byte
	err  error
}

func (b *blob) bytes(off, n uint16) []byte {
	end := int(off) + int(n)
	if end > len(b.data) {
		if b.err == nil {
			b.err = fmt.Errorf("%w: string at %d+%d overruns a %d-byte blob", wire.ErrMalformed, off, n, len(b.data))
		}
		return nil
	}
	return b.data[off:end]
}

// str is a NUL-terminated string as the caller or the kernel had it.
func (b *blob) str(off, n uint16) string {
	return cString(b.bytes(off, n))
}

// path joins components written leaf first (bpf/lib/path.h); "" when
// absent.
func (b *blob) path(off, n uint16) string {
	raw := b.bytes(off, n)
	if len(raw) == 0 {
		return ""
	}
	return wire.Path(raw)
}

// cString reads a NUL-terminated string from a fixed array or blob slice.
func cString[T byte | int8](b []T) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(b[i])
	}
	return string(out)
}

// resolve makes p absolute against base, the directory the kernel
// resolves it from; p stays as given when it is absolute or base unknown.
func resolve(base, p string) string {
	if base == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return path.Join(base, p)
}
