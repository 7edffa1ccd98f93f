package event

import "testing"

// BenchmarkLookupKind times a by-name lookup of the last row and of a
// name with no row: what the decoders and the compact format pay per event.
func BenchmarkLookupKind(b *testing.B) {
	for _, k := range []Kind{KindProcessExec, KindPersonality, "no_such_kind"} {
		b.Run(string(k), func(b *testing.B) {
			for b.Loop() {
				_, _ = LookupKind(k)
			}
		})
	}
}
