package fileguard

import "github.com/vigil-sec/vigil/internal/fileflags"

// openFlagNames spells out open flags as the file sensor's events do.
func openFlagNames(flags uint32) []string { return fileflags.Open(flags) }
