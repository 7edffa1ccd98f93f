package file

import (
	"fmt"
	"path"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/capability"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fileflags"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Decoder turns the sensor's records into events. It checks every length
// and offset against the record, so a malformed record yields an error,
// never a panic or a read past the record. Its Clock dates the events.
type Decoder struct{ wire.Clock }

var fileInfoSize = int(unsafe.Sizeof(fileFileInfo{}))

// Path sources, as event.File.PathSource says them.
const (
	sourceKernel   = "kernel"
	sourceArgument = "argument"
)

// decoded is what Decode makes of one record, allocated at once: the
// event, the bare process its header names, its file and syscall objects,
// and room for an open's flags (the access mode and three flags cover
// nearly every open).
type decoded struct {
	ev    event.Event
	proc  event.Process
	file  event.File
	sys   event.Syscall
	flags [4]string
}

// Decode decodes any file record. The process it returns is what the
// kernel reported (pid, tid, cgroup); the process tree fills in the rest.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	info, ok := wire.Fixed[fileFileInfo](raw)
	if !ok {
		return nil, fmt.Errorf("%w: file record of %d bytes, want at least %d", wire.ErrMalformed, len(raw), fileInfoSize)
	}
	kind := wire.KindName(info.Hdr.Kind)
	sys, ok := syscallNames[info.Syscall]
	if !ok || !ours(info.Hdr.Kind) {
		return nil, fmt.Errorf("%w: %s record from syscall %d", wire.ErrMalformed, kind, info.Syscall)
	}
	blob := wire.NewBlob(raw[fileInfoSize:])
	first, second := blob.String(info.Path.Off, info.Path.Len), blob.String(info.Path2.Off, info.Path2.Len)
	if err := blob.Err(); err != nil {
		return nil, err
	}
	flags := info.Info
	r := &decoded{}
	f := &r.file
	*f = event.File{Path: first, PathSource: sourceKernel, Truncated: cut(flags, kind)}
	if flags&fileFileFlagFILE_PATH_ARG != 0 {
		f.PathSource = sourceArgument
		f.Path = clean(first)
	}
	if flags&fileFileFlagFILE_INODE != 0 {
		f.Inode, f.Dev = info.Ino, info.Dev
	}
	if flags&fileFileFlagFILE_ALIAS != 0 {
		f.AliasOf, second = second, ""
	}
	if flags&fileFileFlagFILE_PROC_LINK != 0 && kind == event.KindFileOpen {
		f.OpenedAs, second = second, ""
	}
	d.fill(r, kind, &info, second)
	ev := &r.ev
	d.EventWith(ev, &r.proc, wire.HeaderOf(raw), kind)
	r.sys = event.Syscall{Name: sys, Ret: info.Ret, Error: wire.ErrnoName(info.Ret)}
	ev.Syscall, ev.File = &r.sys, f
	return ev, nil
}

// fill sets what is particular to each kind.
func (d Decoder) fill(r *decoded, kind event.Kind, info *fileFileInfo, second string) {
	f := &r.file
	switch kind {
	case event.KindFileOpen:
		f.Flags = fileflags.AppendOpen(r.flags[:0], info.Flags)
		if info.Flags&fileflags.OCreat != 0 || info.Flags&fileflags.OTmpfile == fileflags.OTmpfile {
			f.Mode = info.Mode
		}
	case event.KindFileUnlink:
		f.Flags = fileflags.At(info.Flags)
		if info.Syscall == fileFileSyscallSYS_RMDIR {
			f.Flags = []string{"AT_REMOVEDIR"}
		}
	case event.KindFileRename:
		f.NewPath = clean(second)
		f.Flags = fileflags.Rename(info.Flags)
	case event.KindFileLink:
		f.NewPath = clean(second)
		f.Flags = fileflags.At(info.Flags)
	case event.KindFileSymlink:
		f.Target = second
	case event.KindFileChmod:
		f.Mode = info.Mode
		f.Setuid = info.Mode&0o4000 != 0
		f.Setgid = info.Mode&0o2000 != 0
		f.Flags = fileflags.At(info.Flags)
	case event.KindFileChown:
		f.UID, f.GID = owner(info.Uid), owner(info.Gid)
		f.Flags = fileflags.At(info.Flags)
	case event.KindFileMkdir:
		f.Mode = info.Mode
	case event.KindFileXattr:
		f.Flags = fileflags.At(info.Flags)
		f.Xattr = xattrOf(info, second)
	case event.KindMemfdCreate:
		f.Name = f.Path
		f.Path = "memfd:" + f.Name
		f.PathSource = sourceArgument
		f.Flags = fileflags.Memfd(info.Flags)
	}
}

// xattrOf is a file_xattr event's attribute: for security.capability, its
// value decoded as far as the kernel kept it (a value that does not parse
// is left out, its size says how large it was).
func xattrOf(info *fileFileInfo, name string) *event.Xattr {
	x := &event.Xattr{Op: "set", Name: name}
	if xattrRemoves[info.Syscall] {
		x.Op = "remove"
		return x
	}
	x.Size, x.Flags = info.Xsize, fileflags.Xattr(info.Xflags)
	if name != capability.XattrName {
		return x
	}
	v := info.Xvalue[:min(int(info.Xsize), len(info.Xvalue))]
	c, err := capability.ParseFile(v)
	if err != nil {
		return x
	}
	x.Caps = &event.FileCaps{
		Version: c.Version, Permitted: capability.List(c.Permitted),
		Inheritable: capability.List(c.Inheritable), Effective: c.Effective,
	}
	if c.Version == 3 {
		x.Caps.RootID = &c.RootID
	}
	return x
}

// ours says wire kind w is one of this sensor's event kinds: by its
// number, an index, never its name.
func ours(w uint16) bool {
	row, ok := event.KindOfWire(w)
	return ok && row.Family == event.FamilyFile && !row.Record
}

// owner is a chown id; -1 leaves it unchanged and is absent.
func owner(id uint32) *uint32 {
	if id == ^uint32(0) {
		return nil
	}
	return &id
}

// clean makes an argument path as the kernel would have walked it,
// lexically: "/tmp/../etc/passwd" is "/etc/passwd". Symlinks stay.
func clean(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}

// cut names the strings the kernel cut, as the event's fields.
func cut(flags fileFileFlag, kind event.Kind) []string {
	var out []string
	if flags&fileFileFlagFILE_PATH_CUT != 0 {
		out = append(out, "path")
	}
	if flags&fileFileFlagFILE_PATH2CUT != 0 {
		if kind == event.KindFileSymlink {
			out = append(out, "target")
		} else {
			out = append(out, "new_path")
		}
	}
	return out
}
