package wire

import (
	"bytes"
	"fmt"
	"strings"
	"unsafe"
)

// Blob reads the variable-length part of a record, the bytes after its
// fixed part, as bpf/lib/blob.h writes it: strings the fixed part
// references as (offset, length) pairs, NULs included, offsets counted from
// the blob's start. Every reference is checked against the blob: one that
// overruns it reads as absent, and the first such is kept for Err.
type Blob struct {
	data []byte
	err  error
}

// NewBlob reads data, the bytes after a record's fixed part.
func NewBlob(data []byte) *Blob { return &Blob{data: data} }

// Err is the first reference that overran the blob, wrapping ErrMalformed;
// nil when every read was in bounds.
func (b *Blob) Err() error { return b.err }

// Bytes is the referenced bytes, nil when the reference overruns the blob.
func (b *Blob) Bytes(off, n uint16) []byte {
	end := int(off) + int(n)
	if end > len(b.data) {
		if b.err == nil {
			b.err = fmt.Errorf("%w: string at %d+%d overruns a %d-byte blob", ErrMalformed, off, n, len(b.data))
		}
		return nil
	}
	return b.data[off:end]
}

// String is a NUL-terminated string, up to its first NUL.
func (b *Blob) String(off, n uint16) string { return CString(b.Bytes(off, n)) }

// Path is a path written leaf first (bpf/lib/path.bpf.h), joined; "" when
// absent.
func (b *Blob) Path(off, n uint16) string {
	raw := b.Bytes(off, n)
	if len(raw) == 0 {
		return ""
	}
	return Path(raw)
}

// Args splits NUL-separated strings (argv): an empty list, not nil, when
// absent; a cut last string is kept as it is. The strings share one
// allocation.
func (b *Blob) Args(off, n uint16) []string { return b.ArgsIn(nil, off, n) }

// ArgsIn is Args, with the bytes' string taken from t (nil: a fresh one).
func (b *Blob) ArgsIn(t *Strings, off, n uint16) []string {
	raw := b.Bytes(off, n)
	if len(raw) == 0 {
		return []string{}
	}
	return SplitArgs(t.Bytes(bytes.TrimSuffix(raw, []byte{0})))
}

// SplitArgs splits NUL-separated strings; the parts share all's bytes.
func SplitArgs(all string) []string {
	args := make([]string, 0, strings.Count(all, "\x00")+1)
	for {
		i := strings.IndexByte(all, 0)
		if i < 0 {
			return append(args, all)
		}
		args = append(args, all[:i])
		all = all[i+1:]
	}
}

// CString reads a NUL-terminated string from a fixed array (a char array
// of a record, generated as []int8) or from blob bytes.
func CString[T byte | int8](b []T) string { return string(CBytes(b)) }

// CBytes is b up to its first NUL, as bytes, without a copy.
func CBytes[T byte | int8](b []T) []byte {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	if n == 0 {
		return nil
	}
	// byte and int8 have the same size and alignment
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
