package event

// Kind names what happened.
type Kind string

// The event kinds. Each has one row in kindTable, which says everything
// else about it.
const (
	KindProcessExec Kind = "process_exec"
	KindProcessExit Kind = "process_exit"
	// KindProcessFork feeds the process tree; it is not output.
	KindProcessFork Kind = "process_fork"
	// KindProcessRename is a process that changed its comm after exec.
	KindProcessRename Kind = "process_rename"
	// KindProcessSignal is a signal that ends or stops a process, sent by
	// another process (kill, tgkill, sigqueue).
	KindProcessSignal Kind = "process_signal"

	KindFileOpen     Kind = "file_open"
	KindFileUnlink   Kind = "file_unlink"
	KindFileRename   Kind = "file_rename"
	KindFileChmod    Kind = "file_chmod"
	KindFileChown    Kind = "file_chown"
	KindFileLink     Kind = "file_link"
	KindFileSymlink  Kind = "file_symlink"
	KindFileTruncate Kind = "file_truncate"
	KindFileMkdir    Kind = "file_mkdir"
	KindMemfdCreate  Kind = "memfd_create"
	KindFileXattr    Kind = "file_xattr"

	KindNetConnect Kind = "net_connect"
	KindNetAccept  Kind = "net_accept"
	KindNetListen  Kind = "net_listen"
	KindNetBind    Kind = "net_bind"
	KindNetSocket  Kind = "net_socket"
	KindNetClose   Kind = "net_close"
	KindDNSQuery   Kind = "dns_query"
	KindFdRedirect Kind = "fd_redirect"
	// KindNetPayload is bytes received on an inet socket that start with
	// a Java class file or an ELF binary.
	KindNetPayload Kind = "net_payload"

	KindPrivilegeChange Kind = "privilege_change"
	KindPtrace          Kind = "ptrace"
	KindProcessVMWrite  Kind = "process_vm_writev"
	KindNamespaceChange Kind = "namespace_change"
	KindMount           Kind = "mount"
	KindUmount          Kind = "umount"
	KindChroot          Kind = "chroot"
	KindPivotRoot       Kind = "pivot_root"
	KindModuleLoad      Kind = "module_load"
	KindModuleUnload    Kind = "module_unload"
	KindBPFLoad         Kind = "bpf_load"
	KindKexecLoad       Kind = "kexec_load"
	KindUserfaultfd     Kind = "userfaultfd"
	KindPersonality     Kind = "personality"

	// KindIOURingCreate is an io_uring set up (internal/sensor/iouring).
	KindIOURingCreate Kind = "io_uring_create"

	KindOOMKill Kind = "oom_kill"
)

// Family groups kinds by the sensor that produces them; it is that
// sensor's folder name (internal/sensor/<family>) and the "… events"
// section of docs/events.md that documents them.
type Family string

// The families, one per sensor.
const (
	FamilyProcess   Family = "process"
	FamilyFile      Family = "file"
	FamilyNetwork   Family = "network"
	FamilyPrivilege Family = "privilege"
	// FamilyIOURing holds what the io_uring sensor reports: rings set up,
	// and its records of requests, which become file_open and net_connect
	// events marked syscall.via "io_uring".
	FamilyIOURing Family = "io_uring"
	// FamilyObserve holds what the performance observers report as
	// events (internal/observe/*).
	FamilyObserve Family = "observe"
	// FamilyEnforce holds the enforcement records (internal/enforce/*).
	FamilyEnforce Family = "enforce"
)

// KindInfo is one row of the table of kinds.
type KindInfo struct {
	Kind Kind
	// Wire is the record's number on the ring buffer: its enum record_kind
	// value in bpf/lib/common.h.
	Wire   uint16
	Family Family
	// Record marks a ring record that is not an event kind: an enforcement
	// record becomes an alert about an event of the kind it acted on, an
	// io_uring request record an event of another family's kind
	// (file_open, net_connect). Only the loss counters and the record
	// counts name it.
	Record bool
	// Output says the kind reaches outputs, so output filters may name it.
	Output bool
	// Rule says rule conditions may test for it.
	Rule bool
	// Icon and Label stand for the kind in the compact format.
	Icon, Label string
	// Doc is the anchor of the docs/events.md heading that documents it.
	Doc string
}

// WireKinds bounds the wire numbers: KIND_COUNT in bpf/lib/common.h, which
// also sizes the kernel's drops map.
const WireKinds = 64

// kindTable is the one list of kinds, indexed by wire number; a zero row is
// an unused number. It is never written: everything else derives from it.
var kindTable = [WireKinds]KindInfo{
	1: {Kind: KindProcessExec, Family: FamilyProcess, Output: true, Rule: true, Icon: "🚀", Label: "exec", Doc: "process_exec"},
	2: {Kind: KindProcessExit, Family: FamilyProcess, Output: true, Rule: true, Icon: "💥", Label: "exit", Doc: "process_exit"},
	3: {Kind: KindProcessFork, Family: FamilyProcess, Rule: true, Icon: "🍴", Label: "fork", Doc: "process-events"},
	4: {Kind: KindProcessRename, Family: FamilyProcess, Output: true, Rule: true, Icon: "🏷️", Label: "rename", Doc: "process_rename"},
	5: {Kind: KindProcessSignal, Family: FamilyProcess, Output: true, Rule: true, Icon: "🔪", Label: "signal", Doc: "process_signal"},

	9:  {Kind: KindFileXattr, Family: FamilyFile, Output: true, Rule: true, Icon: "🏷️", Label: "xattr", Doc: "file_xattr"},
	10: {Kind: KindFileOpen, Family: FamilyFile, Output: true, Rule: true, Icon: "📂", Label: "open", Doc: "file_open"},
	11: {Kind: KindFileUnlink, Family: FamilyFile, Output: true, Rule: true, Icon: "🗑️", Label: "unlink", Doc: "file_unlink"},
	12: {Kind: KindFileRename, Family: FamilyFile, Output: true, Rule: true, Icon: "✏️", Label: "rename", Doc: "file_rename"},
	13: {Kind: KindFileChmod, Family: FamilyFile, Output: true, Rule: true, Icon: "🔏", Label: "chmod", Doc: "file_chmod"},
	14: {Kind: KindFileChown, Family: FamilyFile, Output: true, Rule: true, Icon: "👤", Label: "chown", Doc: "file_chown"},
	15: {Kind: KindFileLink, Family: FamilyFile, Output: true, Rule: true, Icon: "🔗", Label: "file_link", Doc: "file_link-and-file_symlink"},
	16: {Kind: KindFileSymlink, Family: FamilyFile, Output: true, Rule: true, Icon: "🔗", Label: "file_symlink", Doc: "file_link-and-file_symlink"},
	17: {Kind: KindFileTruncate, Family: FamilyFile, Output: true, Rule: true, Icon: "✂️", Label: "truncate", Doc: "file_truncate"},
	18: {Kind: KindFileMkdir, Family: FamilyFile, Output: true, Rule: true, Icon: "📁", Label: "mkdir", Doc: "file_mkdir"},
	19: {Kind: KindMemfdCreate, Family: FamilyFile, Output: true, Rule: true, Icon: "🧠", Label: "memfd", Doc: "memfd_create"},

	20: {Kind: KindNetConnect, Family: FamilyNetwork, Output: true, Rule: true, Icon: "🔌", Label: "connect", Doc: "net_connect"},
	21: {Kind: KindNetAccept, Family: FamilyNetwork, Output: true, Rule: true, Icon: "📥", Label: "accept", Doc: "net_accept"},
	22: {Kind: KindNetListen, Family: FamilyNetwork, Output: true, Rule: true, Icon: "👂", Label: "listen", Doc: "net_listen"},
	23: {Kind: KindNetBind, Family: FamilyNetwork, Output: true, Rule: true, Icon: "📌", Label: "bind", Doc: "net_bind"},
	24: {Kind: KindNetSocket, Family: FamilyNetwork, Output: true, Rule: true, Icon: "🧦", Label: "socket", Doc: "net_socket"},
	25: {Kind: KindNetClose, Family: FamilyNetwork, Output: true, Rule: true, Icon: "🚪", Label: "close", Doc: "net_close"},
	26: {Kind: KindDNSQuery, Family: FamilyNetwork, Output: true, Rule: true, Icon: "🌐", Label: "dns", Doc: "dns_query"},
	27: {Kind: KindFdRedirect, Family: FamilyNetwork, Output: true, Rule: true, Icon: "↪️", Label: "redirect", Doc: "fd_redirect"},
	28: {Kind: KindNetPayload, Family: FamilyNetwork, Output: true, Rule: true, Icon: "📦", Label: "payload", Doc: "net_payload"},

	30: {Kind: KindPrivilegeChange, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🔑", Label: "privilege", Doc: "privilege_change"},
	31: {Kind: KindPtrace, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "💉", Label: "ptrace", Doc: "ptrace-and-process_vm_writev"},
	32: {Kind: KindProcessVMWrite, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "💉", Label: "vm_writev", Doc: "ptrace-and-process_vm_writev"},
	33: {Kind: KindNamespaceChange, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🧱", Label: "namespace", Doc: "namespace_change"},
	34: {Kind: KindMount, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "💾", Label: "mount", Doc: "mount-umount-pivot_root"},
	35: {Kind: KindUmount, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "💾", Label: "umount", Doc: "mount-umount-pivot_root"},
	36: {Kind: KindChroot, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🔒", Label: "chroot", Doc: "chroot"},
	37: {Kind: KindPivotRoot, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🔒", Label: "pivot_root", Doc: "mount-umount-pivot_root"},
	38: {Kind: KindModuleLoad, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🧩", Label: "module_load", Doc: "module_load-module_unload"},
	39: {Kind: KindModuleUnload, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🧩", Label: "module_unload", Doc: "module_load-module_unload"},
	40: {Kind: KindBPFLoad, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🐝", Label: "bpf", Doc: "bpf_load"},
	41: {Kind: KindKexecLoad, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "☢️", Label: "kexec", Doc: "kexec_load-userfaultfd-personality"},
	42: {Kind: KindUserfaultfd, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🪤", Label: "userfaultfd", Doc: "kexec_load-userfaultfd-personality"},
	43: {Kind: KindPersonality, Family: FamilyPrivilege, Output: true, Rule: true, Icon: "🎭", Label: "personality", Doc: "kexec_load-userfaultfd-personality"},

	44: {Kind: KindIOURingCreate, Family: FamilyIOURing, Output: true, Rule: true, Icon: "💍", Label: "io_uring", Doc: "io_uring_create"},
	45: {Kind: "io_uring_open", Family: FamilyIOURing, Record: true},    // an OPENAT/OPENAT2 request: a file_open event
	46: {Kind: "io_uring_connect", Family: FamilyIOURing, Record: true}, // a CONNECT request: a net_connect event

	50: {Kind: "enforce_exec", Family: FamilyEnforce, Record: true},
	51: {Kind: "enforce_file", Family: FamilyEnforce, Record: true},
	52: {Kind: "enforce_net", Family: FamilyEnforce, Record: true},
	53: {Kind: "enforce_module", Family: FamilyEnforce, Record: true},
	54: {Kind: "exec_hold", Family: FamilyEnforce, Record: true}, // a binary stopped until user space hashes it
	55: {Kind: "enforce_lsm", Family: FamilyEnforce, Record: true},

	60: {Kind: KindOOMKill, Family: FamilyObserve, Output: true, Rule: true, Icon: "💀", Label: "oom_kill", Doc: "oom_kill"},
}

// KindOfWire is the row of wire number w, and whether there is one. It is
// an index, cheap enough for every record.
func KindOfWire(w uint16) (KindInfo, bool) {
	if int(w) >= len(kindTable) || kindTable[w].Kind == "" {
		return KindInfo{}, false
	}
	row := kindTable[w]
	row.Wire = w
	return row, true
}

// LookupKind is the row of kind k, and whether there is one. It is an
// index, cheap enough for every event.
func LookupKind(k Kind) (KindInfo, bool) {
	w, ok := kindWire[k]
	if !ok {
		return KindInfo{}, false
	}
	return KindOfWire(w)
}

// kindWire indexes kindTable by name; the unused numbers' rows (named "")
// are left out. It is derived once, when the package is initialised, and
// never written.
var kindWire = func() map[Kind]uint16 {
	m := make(map[Kind]uint16, len(kindTable))
	for w := range kindTable {
		if k := kindTable[w].Kind; k != "" {
			m[k] = uint16(w)
		}
	}
	return m
}()

// KindInfos are the table's rows in wire order, records included.
func KindInfos() []KindInfo {
	out := make([]KindInfo, 0, len(kindTable))
	for w := range kindTable {
		if row, ok := KindOfWire(uint16(w)); ok {
			out = append(out, row)
		}
	}
	return out
}

// KindsWhere are the kinds whose rows keep says yes to, in wire order.
func KindsWhere(keep func(KindInfo) bool) []Kind {
	var out []Kind
	for _, row := range KindInfos() {
		if keep(row) {
			out = append(out, row.Kind)
		}
	}
	return out
}

// KindsOf are the event kinds of family f (the kinds its sensor
// produces), in wire order.
func KindsOf(f Family) []Kind {
	return KindsWhere(func(row KindInfo) bool { return row.Family == f && !row.Record })
}
