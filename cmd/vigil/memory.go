package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/config"
)

// trimAfterStart drops, once the sensors are loaded, the mappings of the
// binary's read-only pages that start-up touched (package initialisation
// of client-go, cel-go and the protobuf registries, the loaders); the
// heap's start-up garbage already went back (agent.New). Those pages are
// clean and stay in the page cache, shared and reclaimable; a page the
// agent runs or reads again is mapped again on first use (a minor fault),
// so what stays resident is what the running agent uses. It returns the
// bytes of binary mappings dropped.
func trimAfterStart() (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("own executable: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }() // read only
	clean, err := cleanReadOnlyMappings(f, exe)
	if err != nil {
		return 0, err
	}
	var dropped int64
	for _, m := range clean {
		// MADV_DONTNEED on a private file mapping with no anonymous
		// (written) page only unmaps: the data comes back from the file
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m[0], m[1]-m[0], unix.MADV_DONTNEED); errno != 0 {
			return dropped, fmt.Errorf("madvise %x-%x: %w", m[0], m[1], errno)
		}
		dropped += int64(m[1] - m[0])
	}
	return dropped, nil
}

// cleanReadOnlyMappings reads smaps and returns exe's read-only private
// mappings that hold no anonymous page. A read-only mapping can hold
// written pages: a RELRO segment (a PIE or externally linked build) is
// relocated by the dynamic loader and then made read-only, and dropping
// those pages would bring back the unrelocated file contents.
func cleanReadOnlyMappings(smaps io.Reader, exe string) ([][2]uintptr, error) {
	var (
		clean [][2]uintptr
		cur   [2]uintptr
		ok    bool
	)
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		line := sc.Text()
		key, _, _ := strings.Cut(line, " ")
		if !strings.HasSuffix(key, ":") { // a mapping's header line
			cur[0], cur[1], ok = readOnlyMapping(line, exe)
			continue
		}
		if ok && key == "Anonymous:" {
			if strings.Fields(line)[1] == "0" {
				clean = append(clean, cur)
			}
			ok = false
		}
	}
	return clean, sc.Err()
}

// readOnlyMapping parses a /proc/self/maps line and says whether it maps
// exe without write permission (text, read-only data): never the data
// segment, whose written pages are the process's own.
func readOnlyMapping(line, exe string) (start, end uintptr, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[5] != exe || strings.ContainsRune(fields[1], 'w') || fields[1][3] != 'p' {
		return 0, 0, false
	}
	from, to, found := strings.Cut(fields[0], "-")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(from, 16, 64)
	e, err2 := strconv.ParseUint(to, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}

// setMemoryLimit applies --memory-limit: a soft limit on the Go runtime's
// memory (heap, stacks, runtime structures; not the binary's pages nor the
// ring buffer's mapping). "0", or "" from a command that runs the agent
// without the flag (vigil record), keeps what GOMEMLIMIT said, or no limit.
func setMemoryLimit(s string) error {
	if s == "" {
		return nil
	}
	n, err := config.ParseSize(s)
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if n < 0 {
		return fmt.Errorf("--memory-limit %s: want 0 (no limit) or a size such as 40MiB", s)
	}
	if n > 0 {
		debug.SetMemoryLimit(n)
	}
	return nil
}
