package execguard

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// InodeKey is a file as the kernel knows it: Dev is the superblock's s_dev
// (major<<20 | minor, not the user-space dev_t encoding) and Ino its inode
// number. Pad is always zero.
type InodeKey = execguardInodeKey

// Stamp is what tells that a file is still the one that was hashed: its
// modification and change times and its size. ctime is part of it because
// mtime can be set back (utimensat) and an inode number can be reused by a
// new file of the same size; ctime can be set by neither.
type Stamp = execguardFileStamp

// Hold is a process the kernel stopped at exec until user space decides.
type Hold struct {
	PID       uint32
	TID       uint32
	CgroupID  uint64
	Key       InodeKey
	Stamp     Stamp
	StartTime uint64 // the process's start, boot-clock ns: tells a reused pid apart
	Policies  uint64 // the hash-hold policies that asked for the hold (bit n = policy n)
	HeldAt    uint64 // when the kernel stopped it, boot-clock ns
	// Filename is the path given to execve; only records carry it, Held
	// does not. Truncated says it was cut.
	Filename  string
	Truncated bool
	// NotStopped says the kernel did not stop the process: it runs, and
	// user space may only kill it late. NotHeld says why, when it is the
	// fail open of a stale heartbeat (else the SIGSTOP failed).
	NotStopped bool
	NotHeld    bool
}

// SetDeny makes exec_deny hold exactly want: the files whose exec is
// denied, with the policies that deny or only report each.
func (g *Guard) SetDeny(want map[InodeKey]pinned.Verdict) error {
	if err := pinned.Reconcile(g.objs.ExecDeny, want); err != nil {
		return fmt.Errorf("exec_deny: %w", err)
	}
	return nil
}

// MarkKnown records that the file key, as stamp describes it, was hashed
// and found clean: its execs are no longer held while the stamp holds.
func (g *Guard) MarkKnown(key InodeKey, stamp Stamp) error {
	key.Pad = 0
	if err := g.objs.ExecKnown.Update(key, stamp, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("exec_known: %w", err)
	}
	return nil
}

// ForgetKnown drops what MarkKnown said about key, so that its next exec is
// held again (a hash that joined a deny list, for one).
func (g *Guard) ForgetKnown(key InodeKey) error {
	key.Pad = 0
	err := g.objs.ExecKnown.Delete(key)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("exec_known: %w", err)
	}
	return nil
}

// Held lists the processes the kernel holds, including those a previous
// agent left stopped. Entries of processes that have gone since stay until
// Release is called on them.
func (g *Guard) Held() ([]Hold, error) {
	var (
		tgid  uint32
		s     execguardHeldSlot
		holds []Hold
	)
	it := g.objs.ExecHeld.Iterate()
	for it.Next(&tgid, &s) {
		holds = append(holds, holdOf(tgid, s.Held))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("iterate exec_held: %w", err)
	}
	return holds, nil
}

func holdOf(tgid uint32, h execguardHeldExec) Hold {
	return Hold{PID: tgid, TID: tgid, Key: h.Key, Stamp: h.Stamp, StartTime: h.StartTime, Policies: h.Policies, HeldAt: h.HeldAt}
}

// forgetHeld deletes the exec_held entry of h, unless the entry has since
// been replaced by a hold of another process that reuses the pid. deleted
// says it deleted h's entry (which cancels its timer: the process may still
// be stopped, and its release is the caller's); expiring that the timer
// was already continuing it, the heartbeat being stale.
func (g *Guard) forgetHeld(h Hold) (deleted, expiring bool, err error) {
	var cur execguardHeldSlot
	if err := g.objs.ExecHeld.Lookup(h.PID, &cur); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return false, false, nil
		}
		return false, false, fmt.Errorf("exec_held: %w", err)
	}
	if cur.Held.StartTime != h.StartTime {
		return false, false, nil
	}
	if err := g.objs.ExecHeld.Delete(h.PID); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return false, false, nil // the timer continued it meanwhile
		}
		return false, false, fmt.Errorf("exec_held: %w", err)
	}
	return true, cur.Expiring != 0, nil
}

// ExpiryStats is what the kernel's fail-open did since the map was pinned
// (across agents): holds its timers ended because the agent's heartbeat
// was stale, signals they had to try again, and execs a policy wanted held
// that ran unheld because the heartbeat was stale at the exec.
type ExpiryStats struct {
	Expired uint64
	Retried uint64
	NotHeld uint64
}

// the indexes of exec_hold_expiry (enum hold_expiry_stat in execguard.h)
const (
	statExpired = 0
	statRetried = 1
	statNotHeld = 2
)

// Expiry sums the exec_hold_expiry counters over the CPUs.
func (g *Guard) Expiry() (ExpiryStats, error) {
	var st ExpiryStats
	for idx, dst := range map[uint32]*uint64{statExpired: &st.Expired, statRetried: &st.Retried, statNotHeld: &st.NotHeld} {
		var per []uint64
		if err := g.objs.ExecHoldExpiry.Lookup(idx, &per); err != nil {
			return st, fmt.Errorf("exec_hold_expiry: %w", err)
		}
		for _, n := range per {
			*dst += n
		}
	}
	return st, nil
}

// DenyMap is exec_deny, for the LSM tier, which reads the same table.
func (g *Guard) DenyMap() *ebpf.Map { return g.objs.ExecDeny }
