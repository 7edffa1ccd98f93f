package iouring

import (
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fileflags"
	"github.com/vigil-sec/vigil/internal/netname"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Via is what syscall.via says of an event this sensor reports.
const Via = "io_uring"

// Decoder turns the sensor's records into events. It checks every length
// and offset against the record, so a malformed record yields an error,
// never a panic or a read past the record. Its Clock dates the events.
type Decoder struct{ wire.Clock }

var infoSize = int(unsafe.Sizeof(iouringIouInfo{}))

// Create decodes a KIND_IO_URING_CREATE record into an io_uring_create
// event: syscall io_uring_setup, its descriptor, and the ring's sizes and
// setup flags as args.
func (d Decoder) Create(raw []byte) (*event.Event, error) {
	h, r, err := wire.FixedRecord[iouringIouInfo](raw, wire.IOURingCreate)
	if err != nil {
		return nil, err
	}
	ev := d.Event(h, event.KindIOURingCreate)
	ev.Syscall = &event.Syscall{
		Name: "io_uring_setup",
		Ret:  int64(r.RingFd),
		Args: []int64{int64(r.SqEntries), int64(r.CqEntries), int64(r.SetupFlags)},
	}
	return ev, nil
}

// Open decodes a KIND_IO_URING_OPEN record into the file_open event the
// file sensor would have reported for the same open by a system call:
// the kernel's path of the new file, its inode, the flags as passed, and
// syscall {name: openat|openat2, via: io_uring}. ret is the new
// descriptor, or the registered file slot when fixed_file is set.
func (d Decoder) Open(raw []byte) (*event.Event, error) {
	h, r, err := wire.Record[iouringIouInfo](raw, wire.IOURingOpen)
	if err != nil {
		return nil, err
	}
	name := opName(r.Opcode)
	if name != "openat" && name != "openat2" {
		return nil, fmt.Errorf("%w: io_uring_open record of opcode %d", wire.ErrMalformed, r.Opcode)
	}
	blob := wire.NewBlob(raw[infoSize:])
	path := blob.Path(r.Path.Off, r.Path.Len)
	if err := blob.Err(); err != nil {
		return nil, err
	}
	f := &event.File{Path: path, PathSource: "kernel", Flags: fileflags.Open(r.OpenFlags)}
	if r.OpenFlags&fileflags.OCreat != 0 || r.OpenFlags&fileflags.OTmpfile == fileflags.OTmpfile {
		f.Mode = r.Mode
	}
	if r.Info&iouringIouFlagIOU_INODE != 0 {
		f.Inode, f.Dev = r.Ino, r.Dev
	}
	if r.Info&iouringIouFlagIOU_PATH_CUT != 0 {
		f.Truncated = []string{"path"}
	}
	ev := d.Event(h, event.KindFileOpen)
	ev.Syscall = d.call(name, r.Res)
	ev.File = f
	return ev, nil
}

// Connect decodes a KIND_IO_URING_CONNECT record into a net_connect event:
// the socket's peer, its type and protocol, the result, and syscall
// {name: connect, via: io_uring}.
func (d Decoder) Connect(raw []byte) (*event.Event, error) {
	h, r, err := wire.Record[iouringIouInfo](raw, wire.IOURingConnect)
	if err != nil {
		return nil, err
	}
	if r.Opcode != iouringIouOpIOU_OP_CONNECT {
		return nil, fmt.Errorf("%w: io_uring_connect record of opcode %d", wire.ErrMalformed, r.Opcode)
	}
	blob := wire.NewBlob(raw[infoSize:])
	sun := blob.String(r.Path.Off, r.Path.Len)
	if err := blob.Err(); err != nil {
		return nil, err
	}
	n := &event.Network{
		Family:     netname.Family(r.Family),
		SocketType: netname.SocketType(r.SockType),
		Protocol:   netname.Protocol(r.Family, r.Protocol),
		Result:     "success",
	}
	if r.Res < 0 {
		n.Result = wire.ErrnoName(r.Res)
	}
	switch {
	case r.Info&iouringIouFlagIOU_NO_ADDR != 0:
		// the socket had no peer to report (a connect that failed)
	case r.Family == unix.AF_INET:
		n.DAddr, n.DPort = netip.AddrFrom4([4]byte(r.Daddr[:4])).String(), r.Dport
	case r.Family == unix.AF_INET6:
		n.DAddr, n.DPort = netip.AddrFrom16(r.Daddr).String(), r.Dport
	case r.Family == unix.AF_UNIX:
		n.DAddr = sun
	}
	ev := d.Event(h, event.KindNetConnect)
	ev.Syscall = d.call("connect", r.Res)
	ev.Network = n
	return ev, nil
}

func (d Decoder) call(name string, res int64) *event.Syscall {
	return &event.Syscall{Name: name, Ret: res, Error: wire.ErrnoName(res), Via: Via}
}

// opName names the reported io_uring operations as the system calls they
// stand for.
func opName(op iouringIouOp) string {
	switch op {
	case iouringIouOpIOU_OP_OPENAT:
		return "openat"
	case iouringIouOpIOU_OP_OPENAT2:
		return "openat2"
	case iouringIouOpIOU_OP_CONNECT:
		return "connect"
	}
	return ""
}

// Decode decodes any of the sensor's records, by the kind its header says.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	switch k := wire.HeaderOf(raw).Kind; k {
	case wire.IOURingCreate:
		return d.Create(raw)
	case wire.IOURingOpen:
		return d.Open(raw)
	case wire.IOURingConnect:
		return d.Connect(raw)
	default:
		return nil, fmt.Errorf("%w: kind %d (%s) is not an io_uring record", wire.ErrMalformed, k, wire.KindName(k))
	}
}
