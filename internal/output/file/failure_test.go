package file

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/output"
)

// clock is a hand-moved clock for the rotation retry pauses.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// blocker makes name a directory with a file in it: neither remove nor
// rename nor open for writing can replace it.
func blocker(t *testing.T, name string) {
	t.Helper()
	if err := os.MkdirAll(name, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(name, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func numbered(i int) []byte {
	return fmt.Appendf(nil, "line %04d %s", i, strings.Repeat("x", 90))
}

// checkSequence reads the backups oldest first, then the file: lines
// first..last must each be there once, in order, whole.
func checkSequence(t *testing.T, path string, backups int, first, last int) {
	t.Helper()
	var all []string
	for i := backups; i >= 1; i-- {
		for _, name := range []string{fmt.Sprintf("%s.%d", path, i), fmt.Sprintf("%s.%d.gz", path, i)} {
			if exists(name) {
				all = append(all, readLines(t, name)...)
			}
		}
	}
	all = append(all, readLines(t, path)...)
	var want []string
	for i := first; i <= last; i++ {
		want = append(want, string(numbered(i)))
	}
	if !slices.Equal(all, want) {
		t.Fatalf("the files hold %d lines, want lines %d to %d in order (%d); first differences:\n%s",
			len(all), first, last, len(want), firstDiff(all, want))
	}
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("line %d: got %.20q, want %.20q", i+1, g, w)
		}
	}
	return ""
}

// TestFailedRotationKeepsEveryLine: the oldest backup's name is taken by
// a directory that cannot be removed, so every rotation fails. Every line
// still goes to the file (none of 50 is lost), the failure is reported as
// recovered, and the retries are paced by a growing pause instead of
// being attempted at every line. Once the obstacle is gone, rotation
// resumes and the lines are all there, in order, across the files.
func TestFailedRotationKeepsEveryLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.json")
	blocker(t, path+".3")
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s, err := Open(Options{Path: path, MaxSize: 1000, MaxBackups: 3, hooks: &hooks{now: clk.now}})
	if err != nil {
		t.Fatal(err)
	}
	write := func(i int) error {
		t.Helper()
		err := s.WriteLine(numbered(i))
		var rec *output.RecoveredError
		if err != nil && (!errors.As(err, &rec) || rec.Lost != 0) {
			t.Fatalf("line %d: %v: want nil or a recovered error that lost nothing", i, err)
		}
		return err
	}
	var failed []error
	for i := range 50 {
		if err := write(i); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		t.Fatal("no error: the failed rotation was not reported")
	}
	if len(failed) != 1 || !strings.Contains(failed[0].Error(), "still writing to "+path) {
		t.Fatalf("%d errors for 50 lines past the limit, want 1 (retries are paused); the first: %v", len(failed), failed[0])
	}
	if n := s.RotationFailures(); n != 1 {
		t.Errorf("%d rotation failures counted, want 1", n)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if lines := readLines(t, path); len(lines) != 50 {
		t.Fatalf("%d lines in the file, want all 50", len(lines))
	}

	// the pause grows: 1s after the first failure, then 2s
	clk.advance(time.Second)
	if write(50) == nil || s.RotationFailures() != 2 {
		t.Fatalf("no retry after the first pause: %d failures", s.RotationFailures())
	}
	clk.advance(1500 * time.Millisecond)
	if err := write(51); err != nil || s.RotationFailures() != 2 {
		t.Fatalf("retried before the second pause ended: %v, %d failures", err, s.RotationFailures())
	}

	if err := os.RemoveAll(path + ".3"); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	for i := 52; i < 60; i++ {
		if err := write(i); err != nil {
			t.Fatalf("line %d after the obstacle went: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Rotations() == 0 {
		t.Fatal("no rotation once the obstacle was gone")
	}
	checkSequence(t, path, 3, 0, 59)
}

// TestFailedCompressionKeepsEveryLine: the temporary name compression
// writes to is taken by a directory. The line that triggered the rotation
// is written, the backup stays uncompressed, and the failure is counted
// and reported by the next flush.
func TestFailedCompressionKeepsEveryLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.json")
	s, err := Open(Options{Path: path, MaxSize: 1000, MaxBackups: 5, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	blocker(t, path+".1.gz.tmp")
	for i := range 15 {
		if err := s.WriteLine(numbered(i)); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	if s.Rotations() != 1 {
		t.Fatalf("%d rotations, want 1", s.Rotations())
	}
	s.gz.waitIdle()
	err = s.Flush()
	var rec *output.RecoveredError
	if !errors.As(err, &rec) || rec.Lost != 0 || !strings.Contains(err.Error(), "compress "+path+".1") {
		t.Fatalf("flush after the failed compression: %v: want it reported, nothing lost", err)
	}
	if err := s.Flush(); err != nil {
		t.Errorf("the failure was reported twice: %v", err)
	}
	if n := s.CompressionFailures(); n != 1 {
		t.Errorf("%d compression failures counted, want 1", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !exists(path+".1") || exists(path+".1.gz") {
		t.Error("want path.1 kept uncompressed")
	}
	checkSequence(t, path, 5, 0, 14)
}

// TestCompressionRunsBesideTheWriter holds the first compression until the
// writer has rotated five more times: writing never waited for it (else
// this test would not get past the loop), and once it is let go, every
// backup ends up compressed under the right number, the lines in order.
func TestCompressionRunsBesideTheWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.json")
	started, release := make(chan int, 1), make(chan struct{})
	hold := func(i int) {
		select {
		case started <- i:
			<-release
		default:
		}
	}
	s, err := Open(Options{Path: path, MaxSize: 1000, MaxBackups: 10, Compress: true, hooks: &hooks{beforeCompress: hold}})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for s.Rotations() < 1 {
		if err := s.WriteLine(numbered(i)); err != nil {
			t.Fatal(err)
		}
		i++
	}
	if n := <-started; n != 1 {
		t.Fatalf("compressing backup %d first, want 1", n)
	}
	for s.Rotations() < 6 {
		if err := s.WriteLine(numbered(i)); err != nil {
			t.Fatal(err)
		}
		i++
	}
	// the backup held is path.6 by now, still plain
	if !exists(path+".6") || exists(path+".6.gz") || !exists(path+".1") {
		t.Error("want the backups plain while the compressor is held")
	}
	close(release)
	s.gz.waitIdle()
	for b := 1; b <= 6; b++ {
		if exists(fmt.Sprintf("%s.%d", path, b)) || !exists(fmt.Sprintf("%s.%d.gz", path, b)) {
			t.Errorf("backup %d is not compressed", b)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(path + "*.tmp"); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
	checkSequence(t, path, 10, 0, i-1)
}

// TestCloseLeavesCompressionForTheNextOpen: Close does not wait for a
// compression; the next Open compresses what was left plain.
func TestCloseLeavesCompressionForTheNextOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.json")
	started, release := make(chan int, 1), make(chan struct{})
	hold := func(int) {
		select {
		case started <- 1:
			<-release
		default:
		}
	}
	s, err := Open(Options{Path: path, MaxSize: 1000, MaxBackups: 10, Compress: true, hooks: &hooks{beforeCompress: hold}})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for s.Rotations() < 2 {
		if err := s.WriteLine(numbered(i)); err != nil {
			t.Fatal(err)
		}
		i++
	}
	<-started
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	<-s.gz.quit    // Close asked the compressor to stop…
	close(release) // …so the compression under way gives up
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !exists(path+".1") || !exists(path+".2") || exists(path+".1.gz.tmp") || exists(path+".2.gz.tmp") {
		t.Fatal("want both backups plain and no temporary file after Close")
	}
	s, err = Open(Options{Path: path, MaxSize: 1000, MaxBackups: 10, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	s.gz.waitIdle()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(path+".1") || exists(path+".2") || !exists(path+".1.gz") || !exists(path+".2.gz") {
		t.Error("the next Open did not compress the backups left plain")
	}
	checkSequence(t, path, 10, 0, i-1)
}

// flaky passes writes to the file but for those its plan says fail:
// "half" writes half the bytes then fails as a full disk does, "none"
// fails without writing.
type flaky struct {
	f    *os.File
	plan map[int]string
	n    int
}

func (w *flaky) Write(p []byte) (int, error) {
	w.n++
	switch w.plan[w.n] {
	case "half":
		n, _ := w.f.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	case "none":
		return 0, syscall.ENOSPC
	}
	return w.f.Write(p)
}

// TestWriteErrorsAreSurvived: the disk fills up twice (once part way
// through a write) and frees up. The sink keeps writing afterwards, the
// lines it lost are counted exactly, and the file holds only whole lines:
// the torn one is cut off.
func TestWriteErrorsAreSurvived(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.json")
	var w *flaky
	wrap := func(f *os.File) io.Writer {
		w = &flaky{f: f, plan: map[int]string{2: "half", 3: "none"}}
		return w
	}
	s, err := Open(Options{Path: path, hooks: &hooks{wrap: wrap}})
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	const groups, per = 5, 7
	for g := range groups {
		for j := range per {
			if err := s.WriteLine(numbered(g*per + j)); err != nil {
				t.Fatal(err)
			}
		}
		err := s.Flush()
		var rec *output.RecoveredError
		switch {
		case g == 1 || g == 2:
			if !errors.As(err, &rec) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("flush %d: %v, want a recovered ENOSPC", g, err)
			}
			lost += rec.Lost
		case err != nil:
			t.Fatalf("flush %d after the disk freed up: %v", g, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	var size int
	seen := map[string]bool{}
	for _, l := range lines {
		size += len(l) + 1
		var i int
		if _, err := fmt.Sscanf(l, "line %d", &i); err != nil || l != string(numbered(i)) || seen[l] {
			t.Fatalf("torn or repeated line %q", l)
		}
		seen[l] = true
	}
	if size != len(raw) {
		t.Errorf("the file holds %d bytes, its whole lines %d: a fragment is left", len(raw), size)
	}
	if len(lines)+lost != groups*per {
		t.Errorf("%d lines in the file + %d reported lost != %d written", len(lines), lost, groups*per)
	}
	if lost < per+1 {
		t.Errorf("only %d lines reported lost: the write that failed outright held %d", lost, per)
	}
	for _, i := range []int{0, 3 * per, groups*per - 1} {
		if !seen[string(numbered(i))] {
			t.Errorf("line %d is missing: it was written before or after the disk was full", i)
		}
	}
}
