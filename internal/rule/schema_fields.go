package rule

import (
	"path"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/vigil-sec/vigil/internal/event"
)

// topVar is a variable a condition can name directly: `kind`, `process`,
// `file`, … Absent objects resolve to zero values.
type topVar struct {
	name string
	typ  *types.Type
	doc  string
	get  func(a *activation) any
}

// zeroes are the read-only zero values that stand in for absent objects.
type zeroes struct {
	fileID    event.FileID
	container event.Container
	pod       event.Pod
	workload  event.Workload
	k8s       k8sObj
	exit      event.Exit
	syscall   event.Syscall
	file      event.File
	xattr     event.Xattr
	fileCaps  event.FileCaps
	network   event.Network
	dns       event.DNS
	redirect  event.Redirect
	privilege event.Privilege
	caps      event.Caps
	target    event.Target
	namespace event.Namespace
	mount     event.Mount
	module    event.Module
	bpf       event.BPF
}

// newSchema builds the event's CEL types over a base provider and adapter
// and returns it with the top-level variables.
func newSchema(baseProvider types.Provider, baseAdapter types.Adapter) (*schema, []topVar) {
	z := &zeroes{}
	s := &schema{baseProvider: baseProvider, baseAdapter: baseAdapter, byName: map[string]*objType{}}

	podT, workloadT, k8sT, k8sNST := k8sTypes(z)
	containerT := newObjType("vigil.Container",
		strField("id", `container id; "host" outside containers, "" when unknown`, func(c *event.Container) string { return c.ID }),
		strField("runtime", "docker, containerd, cri-o, podman, lxc or host", func(c *event.Container) string { return c.Runtime }),
		strField("name", "container name", func(c *event.Container) string { return c.Name }),
		strField("image", "container image as the runtime names it", func(c *event.Container) string { return c.Image }),
		strField("image_digest", "repository digest the image was pulled by (sha256:…)", func(c *event.Container) string { return c.ImageDigest }),
		boolField("privileged", "the pod's spec runs the container privileged (Kubernetes)", func(c *event.Container) bool { return c.Privileged }),
		objField("pod", "Kubernetes pod", podT, &z.pod, func(c *event.Container) *event.Pod { return c.Pod }),
	)
	fileIDT := newObjType("vigil.FileID",
		intField("dev", "device, major<<20|minor", func(f *event.FileID) int64 { return int64(f.Dev) }),
		intField("inode", "inode number", func(f *event.FileID) int64 { return int64(f.Inode) }),
		intField("mode", "file mode bits", func(f *event.FileID) int64 { return int64(f.Mode) }),
		intField("size", "size in bytes", func(f *event.FileID) int64 { return f.Size }),
		timeField("mtime", "modification time", func(f *event.FileID) time.Time { return f.Mtime }),
		boolField("deleted", "the file was deleted while running", func(f *event.FileID) bool { return f.Deleted }),
	)
	cgroupT := newObjType("vigil.Cgroup",
		intField("id", "cgroup v2 id", func(c *event.Cgroup) int64 { return int64(c.ID) }),
		strField("path", "cgroup path", func(c *event.Cgroup) string { return c.Path }),
	)
	nsT := newObjType("vigil.Namespaces",
		intField("pid", "pid namespace inode", func(n *event.Namespaces) int64 { return int64(n.PID) }),
		intField("mnt", "mount namespace inode", func(n *event.Namespaces) int64 { return int64(n.Mnt) }),
		intField("net", "network namespace inode", func(n *event.Namespaces) int64 { return int64(n.Net) }),
	)
	capsT := newObjType("vigil.Caps",
		strListField("effective", "", func(c *event.Caps) []string { return c.Effective }),
		strListField("permitted", "", func(c *event.Caps) []string { return c.Permitted }),
		strListField("inheritable", "", func(c *event.Caps) []string { return c.Inheritable }),
		strListField("bounding", "bounding set (process.caps only)", func(c *event.Caps) []string { return c.Bounding }),
	)
	procT := newObjType("vigil.Process",
		intField("pid", "process id (tgid)", func(p *procView) int64 { return int64(p.PID) }),
		intField("tid", "thread id", func(p *procView) int64 { return int64(p.TID) }),
		intField("ppid", "parent's pid", func(p *procView) int64 { return int64(p.PPID) }),
		intField("vpid", "pid in its own pid namespace (1: a container's first process), 0 when unknown", func(p *procView) int64 { return int64(p.VPID) }),
		intField("uid", "real uid", func(p *procView) int64 { return int64(p.UID) }),
		intField("euid", "effective uid", func(p *procView) int64 { return int64(p.EUID) }),
		intField("gid", "real gid", func(p *procView) int64 { return int64(p.GID) }),
		intField("egid", "effective gid", func(p *procView) int64 { return int64(p.EGID) }),
		intField("auid", "login uid, -1 when unset", func(p *procView) int64 { return optUint(p.AUID) }),
		strField("user", "name of uid in the process's own /etc/passwd, \"\" if none", func(p *procView) string { return p.User }),
		strField("comm", "kernel task name", func(p *procView) string { return p.Comm }),
		strField("binary", "executed file, symlinks resolved", func(p *procView) string { return p.Binary }),
		strField("name", "base name of binary (computed)", func(p *procView) string { return baseName(p.Binary) }),
		strField("filename", "path given to execve", func(p *procView) string { return p.Filename }),
		strField("script", "script path when binary is its interpreter", func(p *procView) string { return p.Script }),
		perEvent(strListField("args", "argv", func(p *procView) []string { return p.Args }), func(p *procView) *any { return &p.args }),
		strField("argv0", "argv[0] as the caller gave it, \"\" if none (computed)", func(p *procView) string { return argv0(p.Args) }),
		perEvent(strMapField("env", "watched environment variables at exec, name → value (process_exec)",
			func(p *procView) map[string]string { return p.Env }), func(p *procView) *any { return &p.env }),
		strField("cmdline", "argv joined by spaces (computed)", (*procView).cmdline),
		strField("cwd", "working directory at exec", func(p *procView) string { return p.Cwd }),
		strField("tty", "controlling terminal, \"\" if none", func(p *procView) string { return p.TTY }),
		strField("exec_id", "unique id of this process image", func(p *procView) string { return p.ExecID }),
		strField("parent_exec_id", "parent's exec_id", func(p *procView) string { return p.ParentExecID }),
		timeField("start_time", "fork time", func(p *procView) time.Time { return p.StartTime }),
		objField("executable", "the executed file", fileIDT, &z.fileID, func(p *procView) *event.FileID { return p.Executable }),
		objField("cgroup", "the process's cgroup", cgroupT, &event.Cgroup{}, func(p *procView) *event.Cgroup { return &p.Cgroup }),
		objField("namespaces", "namespace inodes", nsT, &event.Namespaces{}, func(p *procView) *event.Namespaces { return &p.Namespaces }),
		objField("caps", "capability sets after its exec, by name (CAP_SYS_ADMIN, …); empty when unknown", capsT, &z.caps,
			func(p *procView) *event.Caps { return p.Caps }),
		objField("container", "the container it runs in", containerT, &z.container, func(p *procView) *event.Container { return p.Container }),
		objField("k8s", "its Kubernetes pod, Falco's names: k8s.ns.name, k8s.pod.name, k8s.pod.labels, k8s.workload.kind", k8sT, &z.k8s,
			func(p *procView) *k8sObj { return k8sOf(p.Container) }),
		strListField("truncated", "fields the kernel cut", func(p *procView) []string { return p.Truncated }),
		boolField("partial", "vigil never saw its exec", func(p *procView) bool { return p.Partial }),
		boolField("is_vigil", "runs vigil's own executable (same device and inode as the agent's)", func(p *procView) bool { return p.IsVigil }),
		boolField("binary_trusted", "binary is a root-owned file in a system directory nobody else can write (not by name)", func(p *procView) bool { return p.BinaryTrusted }),
		strField("binary_package", "installed package owning the binary (dpkg), \"\" if none", func(p *procView) string { return p.BinaryPackage }),
		strField("loaded_program", "program a directly executed dynamic loader runs (its first non-option argument)", func(p *procView) string { return p.LoadedProgram }),
	)
	ancT := newObjType("vigil.Ancestor",
		intField("pid", "pid", func(a *event.Ancestor) int64 { return int64(a.PID) }),
		strField("binary", "executed file", func(a *event.Ancestor) string { return a.Binary }),
		strField("name", "base name of binary (computed)", func(a *event.Ancestor) string { return baseName(a.Binary) }),
		strField("exec_id", "exec id", func(a *event.Ancestor) string { return a.ExecID }),
		boolField("trusted", "its binary_trusted", func(a *event.Ancestor) bool { return a.Trusted }),
	)
	exitT := newObjType("vigil.Exit",
		intField("code", "exit status", func(x *event.Exit) int64 { return int64(x.Code) }),
		intField("signal", "killing signal, 0 if none", func(x *event.Exit) int64 { return int64(x.Signal) }),
		strField("signal_name", "SIGKILL, …", func(x *event.Exit) string { return x.SignalName }),
		boolField("core_dumped", "dumped core", func(x *event.Exit) bool { return x.CoreDumped }),
		intField("duration_ns", "lifetime in ns", func(x *event.Exit) int64 { return x.DurationNS }),
	)
	syscallT := newObjType("vigil.Syscall",
		strField("name", "system call name", func(x *event.Syscall) string { return x.Name }),
		intField("ret", "return value, -errno on error", func(x *event.Syscall) int64 { return x.Ret }),
		strField("error", "errno name when ret < 0", func(x *event.Syscall) string { return x.Error }),
		fieldDef{name: "args", typ: types.NewListType(types.IntType), get: func(o any) any {
			return types.NewList(types.DefaultTypeAdapter, o.(*event.Syscall).Args)
		}, doc: "integer arguments, pointers left out (per kind, see docs/events.md)"},
		strField("via", `"io_uring" for a ring's request, "" for a system call`, func(x *event.Syscall) string { return x.Via }),
	)
	fileCapsT := newObjType("vigil.FileCaps",
		intField("version", "security.capability revision, 1 to 3", func(c *event.FileCaps) int64 { return int64(c.Version) }),
		strListField("permitted", "permitted set", func(c *event.FileCaps) []string { return c.Permitted }),
		strListField("inheritable", "inheritable set", func(c *event.FileCaps) []string { return c.Inheritable }),
		boolField("effective", "effective flag: permitted raised at exec", func(c *event.FileCaps) bool { return c.Effective }),
		intField("rootid", "namespace root uid (version 3), -1 when absent", func(c *event.FileCaps) int64 { return optUint(c.RootID) }),
	)
	xattrT := newObjType("vigil.Xattr",
		strField("op", "set or remove", func(x *event.Xattr) string { return x.Op }),
		strField("name", "attribute name", func(x *event.Xattr) string { return x.Name }),
		intField("size", "value size given to a set", func(x *event.Xattr) int64 { return int64(x.Size) }),
		strListField("flags", "XATTR_CREATE, XATTR_REPLACE", func(x *event.Xattr) []string { return x.Flags }),
		objField("caps", "security.capability decoded", fileCapsT, &z.fileCaps, func(x *event.Xattr) *event.FileCaps { return x.Caps }),
	)
	fileT := newObjType("vigil.File",
		strField("path", "absolute path", func(f *event.File) string { return f.Path }),
		strListField("flags", "open flags by name", func(f *event.File) []string { return f.Flags }),
		intField("mode", "permission bits given", func(f *event.File) int64 { return int64(f.Mode) }),
		boolField("setuid", "chmod sets the setuid bit", func(f *event.File) bool { return f.Setuid }),
		boolField("setgid", "chmod sets the setgid bit", func(f *event.File) bool { return f.Setgid }),
		strField("new_path", "rename destination or new link name", func(f *event.File) string { return f.NewPath }),
		strField("target", "symlink target as written", func(f *event.File) string { return f.Target }),
		intField("uid", "new owner of a chown, -1 when unchanged", func(f *event.File) int64 { return optUint(f.UID) }),
		intField("gid", "new group of a chown, -1 when unchanged", func(f *event.File) int64 { return optUint(f.GID) }),
		strField("name", "memfd name", func(f *event.File) string { return f.Name }),
		intField("inode", "inode number", func(f *event.File) int64 { return int64(f.Inode) }),
		intField("dev", "device", func(f *event.File) int64 { return int64(f.Dev) }),
		strField("alias_of", "the watched file path is another name of (hard link, bind mount)", func(f *event.File) string { return f.AliasOf }),
		strField("opened_as", "the /proc magic link (/proc/self/exe, /proc/PID/fd/N) an open for writing went through, as given", func(f *event.File) string { return f.OpenedAs }),
		objField("xattr", "file_xattr: the attribute", xattrT, &z.xattr, func(f *event.File) *event.Xattr { return f.Xattr }),
	)
	netT := newObjType("vigil.Network",
		strField("protocol", "tcp, udp, icmp, raw, …", func(n *event.Network) string { return n.Protocol }),
		strField("family", "inet, inet6, unix, packet", func(n *event.Network) string { return n.Family }),
		strField("socket_type", "stream, dgram, raw, packet, …", func(n *event.Network) string { return n.SocketType }),
		strField("saddr", "source address", func(n *event.Network) string { return n.SAddr }),
		intField("sport", "source port", func(n *event.Network) int64 { return int64(n.SPort) }),
		strField("daddr", "destination address", func(n *event.Network) string { return n.DAddr }),
		intField("dport", "destination port", func(n *event.Network) int64 { return int64(n.DPort) }),
		strField("result", "success, EINPROGRESS, ECONNREFUSED, …", func(n *event.Network) string { return n.Result }),
		strField("state", "TCP state a close left", func(n *event.Network) string { return n.State }),
		strField("old_state", "TCP state before", func(n *event.Network) string { return n.OldState }),
		intField("backlog", "listen backlog", func(n *event.Network) int64 { return int64(n.Backlog) }),
		strField("payload", "net_payload: java_class or elf, what the received bytes start with", func(n *event.Network) string { return n.Payload }),
		strField("payload_head", "net_payload: the first received bytes (at most 16), hex", func(n *event.Network) string { return n.PayloadHead }),
	)
	dnsT := newObjType("vigil.DNS",
		strField("query", "queried name", func(d *event.DNS) string { return d.Query }),
		strField("type", "A, AAAA, TXT, …", func(d *event.DNS) string { return d.Type }),
		intField("id", "query id", func(d *event.DNS) int64 { return int64(d.ID) }),
	)
	redirT := newObjType("vigil.Redirect",
		intField("old_fd", "the socket's fd", func(r *event.Redirect) int64 { return int64(r.OldFD) }),
		intField("new_fd", "0, 1 or 2", func(r *event.Redirect) int64 { return int64(r.NewFD) }),
	)
	credsT := newObjType("vigil.Creds",
		intField("uid", "", func(c *event.Creds) int64 { return int64(c.UID) }),
		intField("euid", "", func(c *event.Creds) int64 { return int64(c.EUID) }),
		intField("suid", "", func(c *event.Creds) int64 { return int64(c.SUID) }),
		intField("fsuid", "", func(c *event.Creds) int64 { return int64(c.FSUID) }),
		intField("gid", "", func(c *event.Creds) int64 { return int64(c.GID) }),
		intField("egid", "", func(c *event.Creds) int64 { return int64(c.EGID) }),
		intField("sgid", "", func(c *event.Creds) int64 { return int64(c.SGID) }),
		intField("fsgid", "", func(c *event.Creds) int64 { return int64(c.FSGID) }),
	)
	privT := newObjType("vigil.Privilege",
		objField("before", "credentials before", credsT, &event.Creds{}, func(p *event.Privilege) *event.Creds { return &p.Before }),
		objField("after", "credentials after", credsT, &event.Creds{}, func(p *event.Privilege) *event.Creds { return &p.After }),
		objField("caps_before", "capabilities before (capset)", capsT, &z.caps, func(p *event.Privilege) *event.Caps { return p.CapsBefore }),
		objField("caps_after", "capabilities after (capset)", capsT, &z.caps, func(p *event.Privilege) *event.Caps { return p.CapsAfter }),
		strField("user", "name of the uid a setuid/setreuid/setresuid/setfsuid asks for, in the caller's /etc/passwd", func(p *event.Privilege) string { return p.User }),
	)
	targetT := newObjType("vigil.Target",
		intField("pid", "target pid", func(t *event.Target) int64 { return int64(t.PID) }),
		strField("binary", "target binary", func(t *event.Target) string { return t.Binary }),
		strField("exec_id", "target exec id", func(t *event.Target) string { return t.ExecID }),
		strField("request", "ptrace request", func(t *event.Target) string { return t.Request }),
		strField("comm", "target task name (process_signal)", func(t *event.Target) string { return t.Comm }),
		intField("signal", "signal number (process_signal)", func(t *event.Target) int64 { return int64(t.Signal) }),
		strField("signal_name", "signal name: SIGKILL, SIGTERM … (process_signal)", func(t *event.Target) string { return t.SignalName }),
		boolField("agent", "the target is the vigil agent itself (process_signal)", func(t *event.Target) bool { return t.Agent }),
	)
	namespaceT := newObjType("vigil.Namespace",
		strListField("types", "mnt, net, pid, user, uts, ipc, cgroup, time", func(n *event.Namespace) []string { return n.Types }),
		intField("flags", "clone flags", func(n *event.Namespace) int64 { return int64(n.Flags) }),
	)
	mountT := newObjType("vigil.Mount",
		strField("source", "source device or path", func(m *event.Mount) string { return m.Source }),
		strField("target", "mount point", func(m *event.Mount) string { return m.Target }),
		strField("fstype", "file system type", func(m *event.Mount) string { return m.FSType }),
		strListField("flags", "mount flags", func(m *event.Mount) []string { return m.Flags }),
	)
	moduleT := newObjType("vigil.Module",
		strField("name", "module name", func(m *event.Module) string { return m.Name }),
		strField("path", "file finit_module loads", func(m *event.Module) string { return m.Path }),
	)
	bpfT := newObjType("vigil.BPF",
		strField("command", "BPF_PROG_LOAD, …", func(b *event.BPF) string { return b.Command }),
		strField("prog_type", "kprobe, xdp, …", func(b *event.BPF) string { return b.ProgType }),
		strField("prog_name", "program name", func(b *event.BPF) string { return b.ProgName }),
		strField("attach_type", "attach type", func(b *event.BPF) string { return b.AttachType }),
		intField("insns", "instruction count", func(b *event.BPF) int64 { return int64(b.Insns) }),
		strField("target", "raw tracepoint or kernel function it attaches to", func(b *event.BPF) string { return b.Target }),
	)
	all := []*objType{podT, workloadT, k8sT, k8sNST, containerT, fileIDT, cgroupT, nsT, procT, ancT, exitT, syscallT, fileCapsT, xattrT, fileT, netT,
		dnsT, redirT, credsT, capsT, privT, targetT, namespaceT, mountT, moduleT, bpfT}
	for _, t := range all {
		t.adapt = s
		s.byName[t.name] = t
	}
	s.wrap = func(v any) (ref.Val, bool) {
		var t *objType
		switch x := v.(type) {
		case *procView:
			t = procT
		case *event.Container:
			t = containerT
		case *event.Pod:
			t = podT
		case *event.Workload:
			t = workloadT
		case *k8sObj:
			t = k8sT
		case *k8sNS:
			t = k8sNST
		case *event.FileID:
			t = fileIDT
		case *event.Cgroup:
			t = cgroupT
		case *event.Namespaces:
			t = nsT
		case event.Ancestor:
			v, t = &x, ancT
		case *event.Ancestor:
			t = ancT
		case *event.Exit:
			t = exitT
		case *event.Syscall:
			t = syscallT
		case *event.File:
			t = fileT
		case *event.Xattr:
			t = xattrT
		case *event.FileCaps:
			t = fileCapsT
		case *event.Network:
			t = netT
		case *event.DNS:
			t = dnsT
		case *event.Redirect:
			t = redirT
		case *event.Creds:
			t = credsT
		case *event.Caps:
			t = capsT
		case *event.Privilege:
			t = privT
		case *event.Target:
			t = targetT
		case *event.Namespace:
			t = namespaceT
		case *event.Mount:
			t = mountT
		case *event.Module:
			t = moduleT
		case *event.BPF:
			t = bpfT
		default:
			return nil, false
		}
		return &object{t: t, v: v}, true
	}

	vars := []topVar{
		{"kind", types.StringType, "what happened: process_exec, file_open, …", func(a *activation) any { return a.kind() }},
		{"time", types.TimestampType, "when the kernel saw it", func(a *activation) any { return types.Timestamp{Time: a.ev.Time} }},
		{"node", types.StringType, "host name", func(a *activation) any { return types.String(a.ev.Node) }},
		{"process", procT.celType, "the process that did it", func(a *activation) any { return a.proc(0, a.ev.Process) }},
		{"parent", procT.celType, "its parent", func(a *activation) any { return a.proc(1, a.ev.Parent) }},
		{"ancestors", types.NewListType(ancT.celType), "above the parent, nearest first", func(a *activation) any {
			return types.NewList(s, a.ev.Ancestors)
		}},
		{"ancestor_names", types.NewListType(types.StringType), "base names of the parent's and the ancestors' binaries, nearest first (computed)",
			func(a *activation) any { return types.NewStringList(types.DefaultTypeAdapter, a.ancestorNames()) }},
		{"container", containerT.celType, "alias of process.container", func(a *activation) any {
			if a.ev.Process != nil && a.ev.Process.Container != nil {
				return a.ev.Process.Container
			}
			return &z.container
		}},
		{"exit", exitT.celType, "process_exit: how it ended", func(a *activation) any { return orZero(a.ev.Exit, &z.exit) }},
		{"syscall", syscallT.celType, "the system call and its result", func(a *activation) any { return orZero(a.ev.Syscall, &z.syscall) }},
		{"file", fileT.celType, "file events: the file", func(a *activation) any { return orZero(a.ev.File, &z.file) }},
		{"network", netT.celType, "socket events: endpoints", func(a *activation) any { return orZero(a.ev.Network, &z.network) }},
		{"dns", dnsT.celType, "dns_query: the query", func(a *activation) any { return orZero(a.ev.DNS, &z.dns) }},
		{"redirect", redirT.celType, "fd_redirect: which fds", func(a *activation) any { return orZero(a.ev.Redirect, &z.redirect) }},
		{"privilege", privT.celType, "privilege_change: credentials", func(a *activation) any { return orZero(a.ev.Privilege, &z.privilege) }},
		{"target", targetT.celType, "ptrace/process_vm_writev/process_signal: the other process", func(a *activation) any { return orZero(a.ev.Target, &z.target) }},
		{"ns", namespaceT.celType, "namespace_change: the namespaces (JSON \"namespace\"; a reserved word in CEL)", func(a *activation) any { return orZero(a.ev.Namespace, &z.namespace) }},
		{"mount", mountT.celType, "mount/umount/pivot_root", func(a *activation) any { return orZero(a.ev.Mount, &z.mount) }},
		{"module", moduleT.celType, "module_load/unload", func(a *activation) any { return orZero(a.ev.Module, &z.module) }},
		{"bpf", bpfT.celType, "bpf_load: the program", func(a *activation) any { return orZero(a.ev.BPF, &z.bpf) }},
		{"k8s", k8sT.celType, "alias of process.k8s: the pod (k8s.ns.name, k8s.pod.name, k8s.pod.labels, k8s.workload.name)", func(a *activation) any {
			if a.ev.Process != nil {
				if k := k8sOf(a.ev.Process.Container); k != nil {
					return k
				}
			}
			return &z.k8s
		}},
		{"trusted_ancestor_names", types.NewListType(types.StringType),
			"ancestor_names of the parent and ancestors whose binary_trusted is true, nearest first (computed)",
			func(a *activation) any {
				return types.NewStringList(types.DefaultTypeAdapter, a.trustedAncestorNames())
			}},
	}
	return s, vars
}

// baseName is the last element of a path; "" for "".
// argv0 is the first argument, the name the caller gave the program.
func argv0(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func baseName(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// orZero returns p, or zero when p is nil, as an interface holding a
// non-nil pointer.
func orZero[T any](p, zero *T) any {
	if p != nil {
		return p
	}
	return zero
}
