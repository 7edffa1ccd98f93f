package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SizeUnits says, for messages and docs, which sizes ParseSize takes.
const SizeUnits = "a whole number of bytes with an optional unit B, K/KB/KiB, M/MB/MiB or G/GB/GiB (all powers of 1024)"

// ParseSize reads a byte size: "4096", "512K", "8MB", "8MiB", "1 GiB".
// It is the one parser of sizes, for flags and the config file alike;
// the error says what is valid, and the caller names the flag or field.
func ParseSize(s string) (int64, error) {
	// Every unit is binary: "8MB" is 8 MiB, as most tools that size
	// buffers mean it, so that no text reads two ways. Longest first.
	units := []struct {
		suffix string
		shift  uint
	}{
		{"KiB", 10}, {"MiB", 20}, {"GiB", 30},
		{"KB", 10}, {"MB", 20}, {"GB", 30},
		{"K", 10}, {"M", 20}, {"G", 30},
		{"B", 0},
	}
	num, shift := strings.TrimSpace(s), uint(0)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(rest), u.shift
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || strings.HasPrefix(num, "+") {
		return 0, fmt.Errorf("%q is not a size: want %s, e.g. 8MiB", s, SizeUnits)
	}
	if v > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is too large for a size", s)
	}
	return v << shift, nil
}
