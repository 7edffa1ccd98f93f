package wire

import "bytes"

// Path joins the components of a path as bpf/lib/path.h writes them, leaf
// first and NUL-terminated ("cat\0bin\0usr\0"), into "/usr/bin/cat". The
// root, or nothing, is "/". One allocation, the string, for paths of up to
// 256 bytes.
func Path(leafFirst []byte) string {
	var buf [256]byte
	return string(AppendPath(buf[:0], leafFirst))
}

// AppendPath appends Path(leafFirst) to dst.
func AppendPath(dst, leafFirst []byte) []byte {
	raw := bytes.TrimRight(leafFirst, "\x00")
	start := len(dst)
	end := len(raw)
	// components from the last (the root's child) to the first (the
	// leaf); empty ones are left out
	for i := len(raw) - 1; i >= -1; i-- {
		if i >= 0 && raw[i] != 0 {
			continue
		}
		if comp := raw[i+1 : end]; len(comp) > 0 {
			dst = append(dst, '/')
			dst = append(dst, comp...)
		}
		end = i
	}
	if len(dst) == start {
		dst = append(dst, '/')
	}
	return dst
}
