package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/wire"
)

// holdPolicy is the hash-hold policy's number.
const holdPolicy = 1

// resolverStats are the resolver's own times per hold.
type resolverStats struct {
	mu      sync.Mutex
	hash    []float64 // Hasher.Hash
	answer  []float64 // from the hold record's kernel time to the release
	holds   int
	errored int
}

// holdBench measures, for /bin/true and for this (much larger) binary, the
// wall time of fork+exec+wait of a fresh copy (a new inode, so unknown)
// not held (U: programs attached, no hold policy) and held (H: hold policy,
// fresh heartbeat, a resolver that hashes, marks known and continues), in
// alternating order. The copies are made in dir (a tmpfs by default, so
// that making them costs no disk I/O) and removed after their exec.
func (b *bench) holdBench(rounds, n int, dir string) {
	self, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	tmp, err := os.MkdirTemp(dir, "vigil-bench-execdeny-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(tmp)
	if err := b.mode(1, 0); err != nil { // programs, empty list
		fail("%v", err)
	}
	st := &resolverStats{}
	stop := b.startResolver(st)
	defer stop()

	fmt.Printf("first exec of an unknown binary (a fresh copy each time), %d per measurement, %d rounds\n\n", n, rounds)
	fmt.Printf("| binary | size | not held: wall/exec | held: wall/exec | extra latency (median of rounds) | ratio |\n|---|---|---|---|---|---|\n")
	for _, bin := range []string{"/bin/true", self} {
		fi, err := os.Stat(bin)
		if err != nil {
			fail("%v", err)
		}
		var plain, held []float64
		for round := 0; round < rounds; round++ {
			for k := range 2 {
				hold := (k+round)%2 == 1
				if err := b.holdPolicy(hold); err != nil {
					fail("%v", err)
				}
				w := b.freshExecs(bin, tmp, n)
				if hold {
					held = append(held, w)
				} else {
					plain = append(plain, w)
				}
			}
		}
		extra := make([]float64, len(held))
		for i := range held {
			extra[i] = held[i] - plain[i]
		}
		fmt.Printf("| %s | %d KiB | %v | %v | %v | %.2f |\n", filepath.Base(bin), fi.Size()>>10,
			dur(median(plain)), dur(median(held)), dur(median(extra)), median(ratios(held, plain)))
		st.mu.Lock()
		fmt.Fprintf(os.Stderr, "%s: %d holds, %d errors\n", bin, st.holds, st.errored)
		hash, answer := median(st.hash), median(st.answer)
		st.hash, st.answer, st.holds, st.errored = nil, nil, 0, 0
		st.mu.Unlock()
		fmt.Printf("|  ↳ resolver | | | | hash %v, hold record → release decided %v | |\n", dur(hash), dur(answer))
	}
	if err := b.holdPolicy(false); err != nil {
		fail("%v", err)
	}
}

// holdPolicy turns the scoped hash-hold policy on or off.
func (b *bench) holdPolicy(on bool) error {
	var mask uint64
	if on {
		mask = 1 << holdPolicy
		if err := b.state.Heartbeat(); err != nil {
			return err
		}
	}
	if err := b.state.SetPolicies(0, mask, true); err != nil {
		return err
	}
	return b.state.SetScopes(map[uint64]uint64{b.cgID: 1 | mask})
}

// freshExecs runs n fresh copies of bin, one at a time, and returns the
// wall time per fork+exec+wait (the copying is not timed).
func (b *bench) freshExecs(bin, tmp string, n int) float64 {
	var total time.Duration
	for i := range n {
		path := filepath.Join(tmp, fmt.Sprintf("bin-%d", i))
		copyFile(bin, path)
		_, w := b.forkExec(path, 1)
		total += time.Duration(w)
		os.Remove(path)
	}
	return float64(total) / float64(n)
}

// startResolver answers holds as the agent does, keeping the heartbeat
// fresh; the returned func stops it.
func (b *bench) startResolver(st *resolverStats) func() {
	holds := make(chan execguard.Hold, 64)
	onRecord := func(raw []byte) {
		h, err := wire.ParseHeader(raw)
		if err != nil || h.Kind != execguard.WireExecHold || h.CgroupId != b.cgID {
			return
		}
		hold, err := execguard.DecodeHold(raw)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/execdeny: hold record:", err)
			return
		}
		holds <- hold
	}
	b.onRecord.Store(&onRecord)
	hs := execguard.NewHasher(1024)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-quit:
				return
			case h := <-holds:
				t0 := time.Now()
				_, err := hs.Hash(h)
				hashed := time.Since(t0)
				if err == nil {
					err = b.guard.MarkKnown(h.Key, h.Stamp)
				}
				// counted before the release, which lets the exec loop go on
				answered := uint64(kernel.BootNanos())
				st.mu.Lock()
				st.holds++
				if err != nil {
					st.errored++
				}
				st.hash = append(st.hash, float64(hashed))
				if answered > h.HeldAt {
					st.answer = append(st.answer, float64(answered-h.HeldAt))
				}
				st.mu.Unlock()
				if rerr := b.guard.Release(h, err != nil); rerr != nil {
					fmt.Fprintln(os.Stderr, "bench/execdeny: release:", rerr)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				b.state.Heartbeat()
			}
		}
	}()
	return func() { b.onRecord.Store(nil); close(quit); wg.Wait() }
}

func copyFile(from, to string) {
	src, err := os.Open(from)
	if err != nil {
		fail("%v", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		fail("%v", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		fail("%v", err)
	}
	if err := dst.Close(); err != nil {
		fail("%v", err)
	}
}
