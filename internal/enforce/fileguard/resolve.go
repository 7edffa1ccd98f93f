package fileguard

import (
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Resolved is a path's inode as the guard's programs will see it.
type Resolved struct {
	Key   InodeKey
	IsDir bool
}

// Resolve returns the inode path names (symlinks followed: protecting a
// link protects its target), as the kernel's struct file has it, and
// whether it is a directory.
func (g *Guard) Resolve(path string) (InodeKey, bool, error) {
	res, err := g.ResolveAll([]string{path})
	if err != nil {
		return InodeKey{}, false, err
	}
	return res[0].Key, res[0].IsDir, nil
}

var resolvedSize = int(unsafe.Sizeof(fileguardResolvedFd{}))

// ResolveAll resolves many paths with one pass of the resolver iterator.
// The paths are opened O_PATH (which reads nothing and which the guard
// ignores) and the kernel reports the inode behind each descriptor; stat()
// is not asked because on btrfs and overlayfs its device and inode can
// differ from those of the inode an open returns.
func (g *Guard) ResolveAll(paths []string) ([]Resolved, error) {
	fds := make([]int, 0, len(paths))
	defer func() {
		for _, fd := range fds {
			_ = unix.Close(fd) // O_PATH fds, only for the resolver
		}
	}()
	for _, p := range paths {
		fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		fds = append(fds, fd)
	}
	byFD, err := g.ownFDs()
	if err != nil {
		return nil, err
	}
	out := make([]Resolved, len(paths))
	for i, fd := range fds {
		r, ok := byFD[uint32(fd)]
		if !ok {
			return nil, fmt.Errorf("resolve %s: the kernel did not report descriptor %d", paths[i], fd)
		}
		out[i] = Resolved{Key: InodeKey{Dev: r.Dev, Ino: r.Ino}, IsDir: r.Mode&unix.S_IFMT == unix.S_IFDIR}
	}
	return out, nil
}

// ownFDs runs the resolver iterator over this process's descriptors.
func (g *Guard) ownFDs() (map[uint32]fileguardResolvedFd, error) {
	it, err := link.AttachIter(link.IterOptions{Program: g.objs.ResolveFds})
	if err != nil {
		return nil, fmt.Errorf("attach resolver: %w", err)
	}
	defer func() { _ = it.Close() }() // only read from
	rd, err := it.Open()
	if err != nil {
		return nil, fmt.Errorf("open resolver: %w", err)
	}
	raw, err := io.ReadAll(rd)
	_ = rd.Close() // read to the end already
	if err != nil {
		return nil, fmt.Errorf("read resolver: %w", err)
	}
	if len(raw)%resolvedSize != 0 {
		return nil, errors.New("resolver: output is not a whole number of records")
	}
	out := make(map[uint32]fileguardResolvedFd, len(raw)/resolvedSize)
	for off := 0; off < len(raw); off += resolvedSize {
		var r fileguardResolvedFd
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&r)), resolvedSize), raw[off:])
		out[r.Fd] = r
	}
	return out, nil
}
