// Package netguard is the network deny mechanism of the prevention tier:
// cgroup v2 sock_addr programs (connect4/6, sendmsg4/6 for unconnected UDP,
// bind4/6) that make a connect, a datagram or a bind fail with EPERM when a
// deny entry matches and a policy governing the caller enforces it, and
// that let it through and report it when the policy only monitors.
//
// The deny tables are LPM tries keyed by (protocol, port, CIDR) and pinned
// by name under the pin directory, with the programs' links, so that the
// deny outlives the agent; the programs themselves are reloaded at every
// start to write into the running agent's ring. It owns the tables, the
// programs and their records (KIND_ENFORCE_NET); which policies govern
// whom is the shared state of internal/enforce/pinned.
package netguard

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Options say where the pinned state lives and which ring records go to.
type Options struct {
	// PinDir is the enforcement pin directory (pinned.DefaultDir).
	PinDir string
	// Ring is the agent's ring buffer: the records go there.
	Ring *ring.Ring
}

// objects are what Load takes from the collection: the programs and the
// maps they use; the anchor map of the wire types is never created.
type objects struct {
	netguardPrograms
	Deny4     *ebpf.Map `ebpf:"net_deny4"`
	Deny6     *ebpf.Map `ebpf:"net_deny6"`
	BindDeny4 *ebpf.Map `ebpf:"net_bind_deny4"`
	BindDeny6 *ebpf.Map `ebpf:"net_bind_deny6"`
	Ports     *ebpf.Map `ebpf:"net_ports"`
}

func (o *objects) close() error {
	return errors.Join(o.netguardPrograms.Close(), closeMaps(o.Deny4, o.Deny6, o.BindDeny4, o.BindDeny6, o.Ports))
}

func closeMaps(ms ...*ebpf.Map) error {
	var errs []error
	for _, m := range ms {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// Guard is the loaded programs and the open deny tables.
type Guard struct {
	dir   string
	objs  objects
	links []link.Link
	// connect and bind are what the last Set*Rules wrote (nil: read the
	// tables next time); a Guard is its tables' only writer
	connect, bind *compiled
}

// Load loads the programs against the pin directory, adopting the deny
// tables an earlier agent pinned (their entries stay in force) or creating
// them empty. Nothing is attached yet: see Attach.
func Load(opts Options) (*Guard, error) {
	if opts.PinDir == "" || opts.Ring == nil {
		return nil, errors.New("netguard: Options need a PinDir and a Ring")
	}
	spec, err := loadNetguard()
	if err != nil {
		return nil, err
	}
	copts, err := bpfload.Prepare(opts.Ring, spec, nil)
	if err != nil {
		return nil, err
	}
	g := &Guard{dir: opts.PinDir}
	if err := pinned.Load(opts.PinDir, spec, copts, &g.objs); err != nil {
		return nil, fmt.Errorf("netguard: %w", err)
	}
	return g, nil
}

// attachment is one program's hook and the name its link is pinned as.
type attachment struct {
	name string // the pin name, also the program's name
	hook string // as events name it
	prog *ebpf.Program
	typ  ebpf.AttachType
}

func (g *Guard) attachments() []attachment {
	p := &g.objs.netguardPrograms
	return []attachment{
		{netguardProgNetConnect4, "cgroup/connect4", p.NetConnect4, ebpf.AttachCGroupInet4Connect},
		{netguardProgNetConnect6, "cgroup/connect6", p.NetConnect6, ebpf.AttachCGroupInet6Connect},
		{netguardProgNetSendmsg4, "cgroup/sendmsg4", p.NetSendmsg4, ebpf.AttachCGroupUDP4Sendmsg},
		{netguardProgNetSendmsg6, "cgroup/sendmsg6", p.NetSendmsg6, ebpf.AttachCGroupUDP6Sendmsg},
		{netguardProgNetBind4, "cgroup/bind4", p.NetBind4, ebpf.AttachCGroupInet4Bind},
		{netguardProgNetBind6, "cgroup/bind6", p.NetBind6, ebpf.AttachCGroupInet6Bind},
	}
}

// LinkNames are the names the links are pinned as, under the pin
// directory's links/.
func LinkNames() []string {
	return []string{netguardProgNetConnect4, netguardProgNetConnect6, netguardProgNetSendmsg4,
		netguardProgNetSendmsg6, netguardProgNetBind4, netguardProgNetBind6}
}

// Attach attaches all six programs to the cgroup v2 at cgroupPath (the
// cgroup2 root for host-wide enforcement; the rules' policies say whom
// they govern) and pins their links. A link an earlier agent pinned under
// the same name is replaced only once the new one is attached, so the deny
// never lapses; for a moment both programs run, with the same tables.
func (g *Guard) Attach(cgroupPath string) error {
	for _, a := range g.attachments() {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroupPath, Attach: a.typ, Program: a.prog})
		if err != nil {
			return fmt.Errorf("attach %s to %s: %w", a.hook, cgroupPath, err)
		}
		g.links = append(g.links, l)
		if err := pinned.PinLink(g.dir, a.name, l); err != nil {
			return err
		}
	}
	return nil
}

// Detach detaches the programs attached under the guard's link names
// and unpins them: connections flow again once it returns. The tables
// keep their entries.
func (g *Guard) Detach() error {
	errs := []error{Unpin(g.dir)}
	for _, l := range g.links {
		errs = append(errs, l.Close())
	}
	g.links = nil
	return errors.Join(errs...)
}

// Unpin detaches and unpins the network deny's links under dir. Removing
// a pin alone detaches its link only once the kernel has released the pin
// (after an RCU grace period, from a workqueue); BPF_LINK_DETACH first
// makes it take effect before Unpin returns. The tables stay: empty them
// with SetConnectRules(nil) and SetBindRules(nil), or pinned.Remove all.
func Unpin(dir string) error {
	var errs []error
	for _, name := range LinkNames() {
		l, err := pinned.LoadLink(dir, name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("open pinned link %s: %w", name, err))
			continue
		}
		if err := l.Detach(); err != nil {
			errs = append(errs, fmt.Errorf("detach %s: %w", name, err))
		}
		errs = append(errs, pinned.UnpinLink(dir, name), l.Close())
	}
	return errors.Join(errs...)
}

// Close releases the descriptors. Pinned links stay attached and keep
// denying with the pinned tables until they are unpinned.
func (g *Guard) Close() error {
	errs := bpfload.CloseLinks(g.links)
	g.links = nil
	errs = append(errs, g.objs.close())
	return errors.Join(errs...)
}

// Programs names the programs, for their run-time statistics.
func (g *Guard) Programs() map[string]*ebpf.Program {
	out := make(map[string]*ebpf.Program)
	for _, a := range g.attachments() {
		out[a.name] = a.prog
	}
	return out
}

// DenyMap4 is the IPv4 connect table, for benchmarks that report its
// memory.
func (g *Guard) DenyMap4() *ebpf.Map { return g.objs.Deny4 }
