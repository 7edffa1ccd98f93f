package testenv

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The uapi io_uring constants the tests' ring uses (linux/io_uring.h).
const (
	IORingOpRead    = 22
	IORingOpOpenat  = 18
	IORingOpConnect = 16

	IORingSetupSQPoll    = 1 << 1
	IOSQECQESkipSuccess  = 1 << 6
	ioringEnterGetEvents = 1 << 0
	ioringEnterSQWakeup  = 1 << 1
	ioringSQNeedWakeup   = 1 << 0
	ioringOffSQRing      = 0
	ioringOffCQRing      = 0x8000000
	ioringOffSQEs        = 0x10000000
	sqeSize              = 64
	cqeSize              = 16
)

// uringParams is struct io_uring_params.
type uringParams struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	_                                                                      [3]uint32
	SQOff                                                                  [10]uint32 // head, tail, ring_mask, ring_entries, flags, dropped, array, resv1, user_addr
	CQOff                                                                  [10]uint32 // head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1, user_addr
}

// Uring is a minimal io_uring made with the raw system calls (no
// liburing), for tests that must act through io_uring rather than system
// calls: one request at a time, submitted and waited for.
type Uring struct {
	FD         int
	flags      uint32
	sq, cq     []byte
	sqes       []byte
	p          uringParams
	nextUserID uint64
}

// SQE is what a test fills of a submission queue entry.
type SQE struct {
	Opcode  uint8
	Flags   uint8
	FD      int32
	Off     uint64 // addr2: the read offset; connect: the address length
	Addr    unsafe.Pointer
	Len     uint32
	OpFlags uint32 // open: the open flags
}

// NewUring sets up a ring of 8 entries with setup flags (0, or
// IORingSetupSQPoll).
func NewUring(flags uint32) (*Uring, error) {
	u := &Uring{p: uringParams{Flags: flags, SQThreadIdle: 1000}, flags: flags}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 8, uintptr(unsafe.Pointer(&u.p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	u.FD = int(fd)
	sqLen := int(u.p.SQOff[6]) + int(u.p.SQEntries)*4
	cqLen := int(u.p.CQOff[5]) + int(u.p.CQEntries)*cqeSize
	var err error
	if u.sq, err = unix.Mmap(u.FD, ioringOffSQRing, sqLen, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		u.Close()
		return nil, fmt.Errorf("mmap sq ring: %w", err)
	}
	if u.cq, err = unix.Mmap(u.FD, ioringOffCQRing, cqLen, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		u.Close()
		return nil, fmt.Errorf("mmap cq ring: %w", err)
	}
	if u.sqes, err = unix.Mmap(u.FD, ioringOffSQEs, int(u.p.SQEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		u.Close()
		return nil, fmt.Errorf("mmap sqes: %w", err)
	}
	return u, nil
}

func u32(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }

// Do submits one request and waits for its completion, returning the
// completion's result (< 0 is -errno). Whatever Addr points to must stay
// alive until Do returns. With IOSQECQESkipSuccess a success posts no
// completion: Do then returns 0 once the kernel consumed the entry.
func (u *Uring) Do(e SQE) (int32, error) {
	sqTail := u32(u.sq, u.p.SQOff[1])
	mask := *u32(u.sq, u.p.SQOff[2])
	tail := atomic.LoadUint32(sqTail)
	idx := tail & mask
	s := u.sqes[idx*sqeSize : (idx+1)*sqeSize]
	clear(s)
	u.nextUserID++
	s[0], s[1] = e.Opcode, e.Flags
	*(*int32)(unsafe.Pointer(&s[4])) = e.FD
	*(*uint64)(unsafe.Pointer(&s[8])) = e.Off
	*(*uint64)(unsafe.Pointer(&s[16])) = uint64(uintptr(e.Addr))
	*(*uint32)(unsafe.Pointer(&s[24])) = e.Len
	*(*uint32)(unsafe.Pointer(&s[28])) = e.OpFlags
	*(*uint64)(unsafe.Pointer(&s[32])) = u.nextUserID
	*u32(u.sq, u.p.SQOff[6]+idx*4) = idx
	atomic.StoreUint32(sqTail, tail+1)

	skip := e.Flags&IOSQECQESkipSuccess != 0
	for {
		enter := uint32(ioringEnterGetEvents)
		toSubmit, minComplete := uintptr(1), uintptr(1)
		if u.flags&IORingSetupSQPoll != 0 {
			toSubmit = 0
			if atomic.LoadUint32(u32(u.sq, u.p.SQOff[4]))&ioringSQNeedWakeup != 0 {
				enter |= ioringEnterSQWakeup
			}
		}
		if skip {
			minComplete, enter = 0, enter&^ioringEnterGetEvents
		}
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(u.FD), toSubmit, minComplete, uintptr(enter), 0, 0)
		runtime.KeepAlive(e.Addr)
		if errno != 0 && errno != unix.EINTR && errno != unix.EAGAIN && errno != unix.EBUSY {
			return 0, fmt.Errorf("io_uring_enter: %w", errno)
		}
		if res, ok := u.reap(); ok {
			return res, nil
		}
		// a skipped success posts nothing: done once the kernel took
		// the entry (an open it sent to a worker may still be running)
		if skip && atomic.LoadUint32(u32(u.sq, u.p.SQOff[0])) == tail+1 {
			return 0, nil
		}
		runtime.Gosched()
	}
}

// reap takes one completion, if there is one.
func (u *Uring) reap() (int32, bool) {
	head := u32(u.cq, u.p.CQOff[0])
	h := atomic.LoadUint32(head)
	if h == atomic.LoadUint32(u32(u.cq, u.p.CQOff[1])) {
		return 0, false
	}
	mask := *u32(u.cq, u.p.CQOff[2])
	off := u.p.CQOff[5] + (h&mask)*cqeSize
	res := *(*int32)(unsafe.Pointer(&u.cq[off+8]))
	atomic.StoreUint32(head, h+1)
	return res, true
}

// Close unmaps the rings and closes the ring's descriptor.
func (u *Uring) Close() {
	for _, m := range [][]byte{u.sqes, u.cq, u.sq} {
		if m != nil {
			_ = unix.Munmap(m) // best effort: nothing else holds them
		}
	}
	_ = unix.Close(u.FD)
}

// IOURingUsable says whether this machine lets a process set up a ring:
// "" when it does, else why not (/proc/sys/kernel/io_uring_disabled).
func IOURingUsable() string {
	raw, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	if err != nil {
		return "" // older kernels have no switch: io_uring is on
	}
	b := strings.TrimSpace(string(raw))
	switch b {
	case "0":
		return ""
	case "1":
		if unix.Geteuid() == 0 {
			return ""
		}
		return "io_uring is limited to a group (kernel.io_uring_disabled=1) and the test is not root"
	}
	return "io_uring is disabled on this machine (kernel.io_uring_disabled=" + b + ")"
}
