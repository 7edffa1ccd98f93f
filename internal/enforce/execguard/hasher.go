package execguard

import (
	"container/list"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrNotHeldFile says the file a held process executes is not the one its
// hold record names (the pid was reused, or the file changed since): its
// hash says nothing about the hold.
var ErrNotHeldFile = errors.New("executable is not the held file")

// Hasher computes the SHA-256 of held processes' executables, reading them
// through /proc/PID/exe (the very file the kernel executed, whatever its
// path, even deleted), with a bounded cache keyed by the file's identity
// and stamp, so a binary is read once however often it is executed.
type Hasher struct {
	mu    sync.Mutex
	max   int
	lru   *list.List // of *cached, most recent first
	index map[fileVersion]*list.Element
}

type fileVersion struct {
	key   InodeKey
	stamp Stamp
}

type cached struct {
	v   fileVersion
	sum [sha256.Size]byte
}

// NewHasher returns a Hasher that remembers up to max hashes.
func NewHasher(max int) *Hasher {
	if max < 1 {
		max = 1
	}
	return &Hasher{max: max, lru: list.New(), index: make(map[fileVersion]*list.Element)}
}

// Hash returns the SHA-256 of the file h's process executes, after checking
// that it is the file (and the version of it) the kernel held the process
// for.
func (hs *Hasher) Hash(h Hold) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	v := fileVersion{key: h.Key, stamp: h.Stamp}
	v.key.Pad = 0
	if s, ok := hs.lookup(v); ok {
		// the cache only says what this version hashes to; the process
		// must still be running it
		if err := checkExe(h); err != nil {
			return sum, err
		}
		return s, nil
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/exe", h.PID))
	if err != nil {
		return sum, fmt.Errorf("hash held %d: %w", h.PID, err)
	}
	defer func() { _ = f.Close() }() // read-only
	if err := checkFile(f, h); err != nil {
		return sum, err
	}
	d := sha256.New()
	if _, err := io.Copy(d, f); err != nil {
		return sum, fmt.Errorf("hash held %d: %w", h.PID, err)
	}
	copy(sum[:], d.Sum(nil))
	hs.store(v, sum)
	return sum, nil
}

// checkExe checks the running executable of h's process without reading it.
func checkExe(h Hold) error {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/exe", h.PID), unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("hash held %d: %w", h.PID, err)
	}
	defer func() { _ = f.Close() }() // an O_PATH fd
	return checkFile(f, h)
}

// checkFile compares an opened executable with the hold: identity first
// (stat's answer when it agrees with the kernel's key, else the kernel's
// own view through fdinfo and the process's mountinfo), then the stamp.
func checkFile(f *os.File, h Hold) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("hash held %d: %w", h.PID, err)
	}
	if KernelDev(st.Dev) != h.Key.Dev || st.Ino != h.Key.Ino {
		key, err := fdKey(int(f.Fd()), fmt.Sprintf("/proc/%d/mountinfo", h.PID))
		if err != nil {
			return fmt.Errorf("hash held %d: %w", h.PID, err)
		}
		if key.Dev != h.Key.Dev || key.Ino != h.Key.Ino {
			return fmt.Errorf("hash held %d: %w: file %d:%d, held %d:%d", h.PID, ErrNotHeldFile,
				key.Dev, key.Ino, h.Key.Dev, h.Key.Ino)
		}
	}
	s := h.Stamp
	if st.Size != s.Size || st.Mtim.Sec != s.MtimeSec || st.Mtim.Nsec != int64(s.MtimeNsec) ||
		st.Ctim.Sec != s.CtimeSec || st.Ctim.Nsec != int64(s.CtimeNsec) {
		return fmt.Errorf("hash held %d: %w: changed since the exec", h.PID, ErrNotHeldFile)
	}
	return nil
}

func (hs *Hasher) lookup(v fileVersion) ([sha256.Size]byte, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	e, ok := hs.index[v]
	if !ok {
		return [sha256.Size]byte{}, false
	}
	hs.lru.MoveToFront(e)
	return e.Value.(*cached).sum, true
}

func (hs *Hasher) store(v fileVersion, sum [sha256.Size]byte) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if e, ok := hs.index[v]; ok {
		hs.lru.MoveToFront(e)
		return
	}
	hs.index[v] = hs.lru.PushFront(&cached{v: v, sum: sum})
	for hs.lru.Len() > hs.max {
		old := hs.lru.Back()
		hs.lru.Remove(old)
		delete(hs.index, old.Value.(*cached).v)
	}
}

// Len is how many hashes the cache holds.
func (hs *Hasher) Len() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.lru.Len()
}
