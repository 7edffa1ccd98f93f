package memory

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// faultHelperEnv makes the test binary the major-fault helper, on the
// file it names.
const faultHelperEnv = "VH15R_MAJFAULT_FILE"

// faultPages is how many pages the helper faults in.
const faultPages = 256

// majfaultHelper writes faultPages pages to path, writes them back and
// drops them from the page cache, maps the file with read-ahead off and
// reads a byte of every page: each read a major fault. It prints the
// pages still cached before the reads, and its own major faults
// (getrusage) over the reads.
func majfaultHelper(path string) int {
	if err := faultIn(path); err != nil {
		fmt.Println("helper:", err)
		return 1
	}
	return 0
}

func faultIn(path string) error {
	page := os.Getpagesize()
	size := faultPages * page
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write([]byte(strings.Repeat("h15r", size/4))); err != nil {
		return err
	}
	if err := f.Sync(); err != nil { // clean pages: only those can be dropped
		return err
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise: %w", err)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	defer unix.Munmap(data) //nolint:errcheck // the process ends next
	// no read-ahead: each page is read by its own fault
	if err := unix.Madvise(data, unix.MADV_RANDOM); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	vec := make([]byte, faultPages)
	// x/sys has no Mincore wrapper here
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])), uintptr(size), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return fmt.Errorf("mincore: %w", e)
	}
	cached := 0
	for _, v := range vec {
		cached += int(v & 1)
	}
	var before, after unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &before); err != nil {
		return err
	}
	var sum byte
	for i := 0; i < size; i += page {
		sum += data[i]
	}
	if err := unix.Getrusage(unix.RUSAGE_SELF, &after); err != nil {
		return err
	}
	fmt.Println(cached, after.Majflt-before.Majflt, sum)
	return nil
}

// A process in the test's cgroup maps a file whose pages it just dropped
// from the page cache and reads every page: the cgroup's major faults
// (memory.stat, v2 or the v1 fallback) grow by at least the major faults
// the process counted itself (getrusage).
func TestMajorFaultsOfMappedFile(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, cg, prefix := loadWithCgroup(t, 256<<20)
	id := observetest.CgroupID(t, cg)
	var start uint64 // the faults of the cgroup before the helper's
	observetest.Poll(t, o, "the cgroup's memory figures", func(s *observe.Snapshot) bool {
		st := s.Cgroups[id]
		if st != nil && st.Memory {
			start = st.MajorFaults
		}
		return st != nil && st.Memory
	})

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("h15r-majflt-%d.dat", os.Getpid()))
	t.Cleanup(func() { _ = os.Remove(path) })
	cmd := exec.Command("sh", "-c", prefix+"exec "+self)
	cmd.Env = append(os.Environ(), faultHelperEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var cached, majflt uint64
	var sum int
	if _, err := fmt.Sscan(string(out), &cached, &majflt, &sum); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	t.Logf("helper: %d of %d pages still cached before the reads, %d major faults (getrusage)", cached, faultPages, majflt)
	// one fault may read a large folio of several pages: fewer faults
	// than pages, but some
	if majflt == 0 || cached == faultPages {
		t.Fatalf("the helper counted %d major faults reading %d uncached pages; want some", majflt, faultPages-cached)
	}
	s := observetest.Poll(t, o, "the helper's major faults in its cgroup", func(s *observe.Snapshot) bool {
		st := s.Cgroups[id]
		return st != nil && st.MajorFaults-start >= majflt
	})
	st := s.Cgroups[id]
	t.Logf("cgroup (%s): %d major faults, %d before the helper", st.MemoryReadFrom, st.MajorFaults, start)
}
