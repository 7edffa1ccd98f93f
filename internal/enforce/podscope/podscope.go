// Package podscope owns the kernel half of pod-scoped policies: a program
// on the cgroup_mkdir tracepoint that scopes a new pod's cgroup the moment
// the kubelet creates it, from the policy bits user space wrote for the
// pod's uid beforehand (pod_scopes), and a new container's cgroup from the
// bits written for its id (container_scopes), and remembers what it scoped
// (pod_cgroups, container_cgroups). It also knows how the kubelet and the runtimes name pod
// and container cgroups (ParsePodCgroup, ParseContainerCgroup) and finds
// them below the cgroup2 mount (KubepodsRoots, FindPod, Containers).
// Which pods a policy chooses, and the rest of scope_cgroups, are
// internal/enforce's.
package podscope

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
)

// LinkName is the name the program's link is pinned under.
const LinkName = podscopeProgPodscopeMkdir

// MaxPods is how many pods pod_scopes holds.
const MaxPods = 8192

// Options say where the object's state lives. The program writes no
// records; the ring is its shared maps' owner, as for every object.
type Options struct {
	PinDir string
	Ring   *ring.Ring
}

// Scope is the loaded object. Its program stays attached through its
// pinned link after Close.
type Scope struct {
	dir   string
	objs  podscopeObjects
	links []link.Link
}

// Load loads the object against the pin directory (adopting the pod_scopes
// and pod_cgroups an earlier agent pinned, and the shared scope_cgroups),
// attaches its program and pins the link in place of an earlier agent's.
func Load(opts Options) (*Scope, error) {
	if opts.Ring == nil || opts.PinDir == "" {
		return nil, errors.New("podscope: Options needs a Ring and a PinDir")
	}
	spec, err := loadPodscope()
	if err != nil {
		return nil, err
	}
	copts, err := bpfload.Prepare(opts.Ring, spec, nil)
	if err != nil {
		return nil, err
	}
	s := &Scope{dir: opts.PinDir}
	if err := pinned.Load(opts.PinDir, spec, copts, &s.objs); err != nil {
		return nil, fmt.Errorf("pod scope: %w", err)
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: s.objs.PodscopeMkdir})
	if err == nil {
		s.links = append(s.links, l)
		err = pinned.PinLink(opts.PinDir, LinkName, l)
	}
	if err != nil {
		_ = s.Close() // best effort: err is what failed
		return nil, fmt.Errorf("pod scope: attach %s: %w", LinkName, err)
	}
	return s, nil
}

func uidKey(uid string) (podscopePodUid, bool) {
	var k podscopePodUid
	if !ParseUID(uid) {
		return k, false
	}
	copy(k.Uid[:], uid)
	return k, true
}

// SetPods makes pod_scopes hold exactly want: pod uid → the policy bits its
// cgroup carries (pods with none are left out). A uid that is not one is
// an error.
func (s *Scope) SetPods(want map[string]uint64) error {
	keys := make(map[podscopePodUid]uint64, len(want))
	for uid, bits := range want {
		k, ok := uidKey(uid)
		if !ok {
			return fmt.Errorf("pod scope: %q is not a pod uid", uid)
		}
		if bits != 0 {
			keys[k] = bits
		}
	}
	if len(keys) > MaxPods {
		return fmt.Errorf("pod scope: %d pods with policies, the kernel holds %d", len(keys), MaxPods)
	}
	return pinned.Reconcile(s.objs.PodScopes, keys)
}

// MaxContainers is how many containers container_scopes holds.
const MaxContainers = 16384

// SetContainers makes container_scopes hold exactly want: container id →
// the policy bits its cgroup carries (containers with none are left out).
func (s *Scope) SetContainers(want map[string]uint64) error {
	keys := make(map[podscopeContainerId]uint64, len(want))
	for id, bits := range want {
		var k podscopeContainerId
		if len(id) != IDLen || strings.Trim(id, "0123456789abcdef") != "" {
			return fmt.Errorf("pod scope: %q is not a container id", id)
		}
		copy(k.Id[:], id)
		if bits != 0 {
			keys[k] = bits
		}
	}
	if len(keys) > MaxContainers {
		return fmt.Errorf("pod scope: %d containers with policies, the kernel holds %d", len(keys), MaxContainers)
	}
	return pinned.Reconcile(s.objs.ContainerScopes, keys)
}

// Pods reads pod_scopes: pod uid → policy bits.
func (s *Scope) Pods() (map[string]uint64, error) {
	return readMap(s.objs.PodScopes, "pod_scopes", func(k *podscopePodUid, bits *uint64) (string, uint64) {
		return string(k.Uid[:]), *bits
	})
}

// Containers reads container_scopes: container id → policy bits.
func (s *Scope) Containers() (map[string]uint64, error) {
	return readMap(s.objs.ContainerScopes, "container_scopes", func(k *podscopeContainerId, bits *uint64) (string, uint64) {
		return string(k.Id[:]), *bits
	})
}

// readMap reads a whole map, each entry converted by conv.
func readMap[K, V any, OK comparable, OV any](m *ebpf.Map, name string, conv func(*K, *V) (OK, OV)) (map[OK]OV, error) {
	out := map[OK]OV{}
	var (
		k K
		v V
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		ok, ov := conv(&k, &v)
		out[ok] = ov
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("iterate %s: %w", name, err)
	}
	return out, nil
}

// Record notes cgroups user space scoped itself, as the program notes its
// own (pod_cgroups, container_cgroups): cgroup id → pod uid, and cgroup id
// → container id. The records are what a restarted agent carries over
// until it knows the pods again.
func (s *Scope) Record(pods, containers map[uint64]string) error {
	var errs []error
	for id, uid := range pods {
		k, ok := uidKey(uid)
		if !ok {
			errs = append(errs, fmt.Errorf("pod scope: %q is not a pod uid", uid))
			continue
		}
		if err := s.objs.PodCgroups.Update(id, k, ebpf.UpdateAny); err != nil {
			errs = append(errs, fmt.Errorf("update pod_cgroups: %w", err))
		}
	}
	for id, cid := range containers {
		var k podscopeContainerId
		copy(k.Id[:], cid)
		if err := s.objs.ContainerCgroups.Update(id, k, ebpf.UpdateAny); err != nil {
			errs = append(errs, fmt.Errorf("update container_cgroups: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Recorded lists what the program scoped: cgroup id → pod uid, and
// cgroup id → container id.
func (s *Scope) Recorded() (pods, containers map[uint64]string, err error) {
	if pods, err = readMap(s.objs.PodCgroups, "pod_cgroups", func(id *uint64, pod *podscopePodUid) (uint64, string) {
		return *id, string(pod.Uid[:])
	}); err != nil {
		return nil, nil, err
	}
	containers, err = readMap(s.objs.ContainerCgroups, "container_cgroups", func(id *uint64, ctr *podscopeContainerId) (uint64, string) {
		return *id, string(ctr.Id[:])
	})
	if err != nil {
		return nil, nil, err
	}
	return pods, containers, nil
}

// Forget removes cgroups from what the program scoped (their pod or
// container is gone).
func (s *Scope) Forget(ids []uint64) error {
	var errs []error
	for _, id := range ids {
		for _, m := range []*ebpf.Map{s.objs.PodCgroups, s.objs.ContainerCgroups} {
			if err := m.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				errs = append(errs, fmt.Errorf("delete from %s: %w", m, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Stats are the program's counters: pod cgroups seen created, scoped at
// once, and updates that found a map full.
type Stats struct{ Seen, Scoped, Failed uint64 }

// Stats sums the program's per-CPU counters.
func (s *Scope) Stats() (Stats, error) {
	var st Stats
	for i, to := range []*uint64{&st.Seen, &st.Scoped, &st.Failed} {
		var perCPU []uint64
		if err := s.objs.PodscopeStats.Lookup(podscopePodscopeStat(i), &perCPU); err != nil {
			return st, fmt.Errorf("read podscope_stats: %w", err)
		}
		for _, n := range perCPU {
			*to += n
		}
	}
	return st, nil
}

// Programs names the object's program, for its run-time statistics.
func (s *Scope) Programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{podscopeProgPodscopeMkdir: s.objs.PodscopeMkdir}
}

// Close releases the descriptors; the pinned link keeps the program
// attached until it is unpinned (pinned.UnpinLink, pinned.Remove).
func (s *Scope) Close() error {
	errs := bpfload.CloseLinks(s.links)
	s.links = nil
	errs = append(errs, s.objs.Close())
	return errors.Join(errs...)
}
