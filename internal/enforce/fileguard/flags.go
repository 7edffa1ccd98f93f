package fileguard

import "github.com/vigil-sec/vigil/internal/sensor/file"

// The open flags the guard's decisions read, as the kernel numbers them
// (asm-generic/fcntl.h, which x86 and arm64 use).
const (
	oAccMode = 0o3
	oCreat   = 0o100
	oExcl    = 0o200
	oNoctty  = 0o400
	oTrunc   = 0o1000
	oPath    = 0o10000000
)

// openFlagNames spells out open flags as the file sensor's events do.
func openFlagNames(flags uint32) []string { return file.OpenFlagNames(flags) }
