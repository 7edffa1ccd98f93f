package event

import "time"

// Process is a process as of its last exec (or its fork, if it never
// exec'd). It is immutable once published: a later exec, or metadata about
// its container learnt later (see ContainerRef), creates a new one.
type Process struct {
	PID  uint32 `json:"pid"`
	TID  uint32 `json:"tid"`
	PPID uint32 `json:"ppid"`
	// VPID is the pid as the process's own pid namespace numbers it (1
	// for a container's first process; PID on the host), 0 when unknown
	// (a process known only from its fork).
	VPID uint32 `json:"vpid,omitempty"`

	UID  uint32 `json:"uid"`
	EUID uint32 `json:"euid"`
	GID  uint32 `json:"gid"`
	EGID uint32 `json:"egid"`
	// AUID is the login uid (audit), absent when unset.
	AUID *uint32 `json:"auid,omitempty"`
	// User names UID: its entry in the process's own /etc/passwd (a
	// container's, for a containerised process), "" when there is none.
	User string `json:"user,omitempty"`

	Comm string `json:"comm"`
	// Binary is the absolute path of the executed file, symlinks resolved:
	// what /proc/PID/exe names. For a script, the interpreter.
	Binary string `json:"binary"`
	// Filename is the path given to execve, as given.
	Filename string `json:"filename,omitempty"`
	// Script is the script's absolute path when Binary is its interpreter.
	Script string   `json:"script,omitempty"`
	Args   []string `json:"args"`
	// Env holds the watched environment variables the new image was
	// given (name → value), as the kernel read them at exec.
	Env map[string]string `json:"env,omitempty"`
	Cwd string            `json:"cwd"`
	TTY string            `json:"tty,omitempty"`

	// ExecID identifies this process image, unique across pid reuse.
	ExecID       string `json:"exec_id"`
	ParentExecID string `json:"parent_exec_id,omitempty"`
	// StartTime is when the process was forked.
	StartTime time.Time `json:"start_time"`

	Executable *FileID    `json:"executable,omitempty"`
	Cgroup     Cgroup     `json:"cgroup"`
	Namespaces Namespaces `json:"namespaces"`
	// Caps are the capability sets the process ran with after its exec
	// (read from /proc for processes older than the agent), nil when
	// unknown. A later capset or setuid does not change them.
	Caps      *Caps      `json:"caps,omitempty"`
	Container *Container `json:"container,omitempty"`
	// ContainerRef, when set, is where the container's metadata is kept
	// current: Container is the value it held when this Process was
	// published, and the process tree publishes a new Process when it
	// changes. Not encoded.
	ContainerRef *ContainerRef `json:"-"`

	// Truncated names the fields the kernel had to cut ("args", "cwd", …).
	Truncated []string `json:"truncated,omitempty"`
	// Partial is set when vigil never saw this process's exec and knows it
	// only from its fork or from a snapshot that could not read everything.
	Partial bool `json:"partial,omitempty"`
	// Recovered is set when the agent had lost this process (its fork and
	// exec were dropped, or it was evicted from the process cache) and
	// read it from /proc when an event needed it.
	Recovered bool `json:"recovered,omitempty"`
	// IsVigil is set when the process runs vigil's own executable: the
	// same device and inode as the running agent's, never by name.
	IsVigil bool `json:"is_vigil,omitempty"`
	// BinaryTrusted is set when the executed file is a system binary:
	// in a system directory, owned by root and writable by nobody else,
	// as is every directory above it (internal/binfact). A copy or a
	// name chosen by whoever runs it does not make it so.
	BinaryTrusted bool `json:"binary_trusted,omitempty"`
	// BinaryPackage is the installed package (dpkg) that owns the
	// executed file, "" when none does or vigil cannot tell.
	BinaryPackage string `json:"binary_package,omitempty"`
	// LoadedProgram is the program a dynamic loader executed directly
	// runs (ld-linux-x86-64.so.2 /tmp/x: /tmp/x), as given and made
	// absolute against Cwd; "" for any other exec.
	LoadedProgram string `json:"loaded_program,omitempty"`

	cache *jsonCache // set by Seal
}

// FileID identifies a file by what the kernel knows it by.
type FileID struct {
	Dev     uint32    `json:"dev"` // major<<20 | minor, the kernel's encoding
	Inode   uint64    `json:"inode"`
	Mode    uint32    `json:"mode"`
	Size    int64     `json:"size"`
	Mtime   time.Time `json:"mtime"`
	Deleted bool      `json:"deleted,omitempty"`
}

// Cgroup is the process's cgroup: its v2 id, and the path that names it
// (the v1 path on a host whose v2 hierarchy is unused).
type Cgroup struct {
	ID   uint64 `json:"id"`
	Path string `json:"path"`
}

// Namespaces are the inode numbers of the process's namespaces.
type Namespaces struct {
	PID uint32 `json:"pid"`
	Mnt uint32 `json:"mnt"`
	Net uint32 `json:"net"`
}

// Container is the container a process runs in. ID "host" means none.
type Container struct {
	ID      string `json:"id"`
	Runtime string `json:"runtime"`
	// Name, Image and ImageDigest come from the runtime (its CRI socket)
	// or from Kubernetes, whichever tells first.
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"`
	// ImageDigest is the repository digest the image was pulled by
	// (sha256:…), which names the content where a tag may move.
	ImageDigest string `json:"image_digest,omitempty"`
	// Privileged says the pod's spec runs the container privileged
	// (securityContext.privileged: every capability and device, no
	// seccomp or AppArmor confinement), as Kubernetes reports it.
	Privileged bool `json:"privileged,omitempty"`
	// Pod is set for containers of Kubernetes pods.
	Pod *Pod `json:"pod,omitempty"`
}

// HostContainerID is Container.ID for processes outside any container.
const HostContainerID = "host"

// Pod is a Kubernetes pod. The UID comes from the cgroup path; the rest
// from the Kubernetes API.
type Pod struct {
	UID       string            `json:"uid"`
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Workload is the controller that owns the pod, its owner references
	// followed to the top (a Deployment rather than its ReplicaSet).
	Workload *Workload `json:"workload,omitempty"`
}

// Workload names a pod's controller: Deployment, StatefulSet, DaemonSet,
// Job, CronJob, ReplicaSet (when it has no Deployment) or another kind.
type Workload struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}
