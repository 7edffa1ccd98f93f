package enforce

import (
	"errors"
	"fmt"
	"maps"
	"os"

	"github.com/vigil-sec/vigil/internal/enforce/podscope"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/selector"
)

// Pod-scoped policies. A policy whose scope chooses Kubernetes pods
// (namespace, podSelector, containerSelector) gets its number like any
// scoped one, but its cgroups are dynamic: the Kubernetes pod watch
// (internal/kube, through the agent) tells UpdatePod of every pod on the
// node, and the enforcer keeps the pods it knows, works out which policies
// choose each, and writes scope_cgroups as the static scopes OR these:
//
//   - a policy without container names scopes the pod's cgroup (found below
//     the cgroup2 mount's kubepods subtrees, podscope.FindPod);
//   - one with container names scopes the named containers' cgroups (the
//     pod's children named after the containers' ids).
//
// A new pod's cgroup is usually created after the watch delivered the pod,
// so the pod-level bits are also written, by uid, to the podscope object's
// pod_scopes before the cgroup exists, and its cgroup_mkdir program scopes
// the cgroup at its creation; likewise a container's bits by its id
// (container_scopes), for a container whose id is known before the runtime
// makes its cgroup (the CRI reports it at creation, before the start).
// What the program scoped is read back (pod_cgroups, container_cgroups)
// and kept. A pod leaving every selector (a label change) or deleted is
// released: its uid leaves pod_scopes first, then its cgroups leave
// scope_cgroups.

// PodState is what the Kubernetes pod watch knows of one pod on this node.
type PodState struct {
	// UID is the pod's uid (metadata.uid).
	UID       string
	Namespace string
	Labels    map[string]string
	// Containers maps container names (as in the pod's spec) to their ids;
	// the API's "containerd://<id>" spelling is taken. A container that
	// has no id yet is left out.
	Containers map[string]string
	// Deleted says the pod is gone: it is forgotten and released.
	Deleted bool
}

// MaxPods is how many pods the enforcer keeps.
const MaxPods = podscope.MaxPods

// podEntry is a known pod and what was found of its cgroups.
type podEntry struct {
	state PodState
	dir   string // the pod's cgroup, once found
	id    uint64 // its cgroup id
	// ctr are the containers' cgroup ids found, by container id
	ctr map[string]uint64
}

// podPolicy is a pod-scoped policy of a plan.
type podPolicy struct {
	bit uint64
	sel *selector.Pods
}

func podPolicies(pl *Plan) []podPolicy {
	var out []podPolicy
	for n, p := range pl.Policies {
		if p.Name != "" && p.Scope.Pods != nil {
			out = append(out, podPolicy{bit: 1 << n, sel: p.Scope.Pods})
		}
	}
	return out
}

// bits are the policies that choose the pod's cgroup (pod) and those that
// choose each of its containers' (by container id).
func (pe *podEntry) bits(pps []podPolicy) (pod uint64, ctr map[string]uint64) {
	s := pe.state
	for _, pp := range pps {
		if len(pp.sel.Containers) == 0 {
			if pp.sel.Matches(s.Namespace, s.Labels, "") {
				pod |= pp.bit
			}
			continue
		}
		for name, id := range s.Containers {
			if pp.sel.Matches(s.Namespace, s.Labels, name) {
				if ctr == nil {
					ctr = map[string]uint64{}
				}
				ctr[id] |= pp.bit
			}
		}
	}
	return pod, ctr
}

// UpdatePod tells the enforcer what the Kubernetes watch knows of a pod
// now (new, changed or deleted), and brings the kernel's scopes in line at
// once. Safe for concurrent use.
func (e *Enforcer) UpdatePod(p PodState) error {
	if !podscope.ParseUID(p.UID) {
		return fmt.Errorf("pod %q: not a pod uid", p.UID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.Deleted {
		delete(e.pods, p.UID)
	} else {
		pe := e.pods[p.UID]
		if pe == nil {
			if len(e.pods) >= MaxPods {
				return fmt.Errorf("pod %s/%s: the enforcer keeps at most %d pods", p.Namespace, p.UID, MaxPods)
			}
			pe = &podEntry{}
			e.pods[p.UID] = pe
		}
		pe.state = normalise(p)
	}
	return e.syncPods()
}

// SyncPods tells the enforcer the whole set of pods on the node (the
// watch's list, at start and after a re-list): pods not in it are
// forgotten and released. Until the first SyncPods, a restarted agent
// keeps the pod entries the pinned state holds for the policies it
// adopted (their numbers unchanged), so that pods stay scoped while the
// watch catches up. Safe for concurrent use.
func (e *Enforcer) SyncPods(pods []PodState) error {
	for _, p := range pods {
		if !podscope.ParseUID(p.UID) {
			return fmt.Errorf("pod %q: not a pod uid", p.UID)
		}
	}
	if len(pods) > MaxPods {
		return fmt.Errorf("%d pods: the enforcer keeps at most %d", len(pods), MaxPods)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	next := make(map[string]*podEntry, len(pods))
	for _, p := range pods {
		if p.Deleted {
			continue
		}
		pe := e.pods[p.UID]
		if pe == nil {
			pe = &podEntry{}
		}
		pe.state = normalise(p)
		next[p.UID] = pe
	}
	e.pods = next
	e.podsSynced = true
	return e.syncPods()
}

func normalise(p PodState) PodState {
	p.Labels = maps.Clone(p.Labels)
	ctrs := make(map[string]string, len(p.Containers))
	for name, id := range p.Containers {
		if id = podscope.ContainerID(id); id != "" {
			ctrs[name] = id
		}
	}
	p.Containers = ctrs
	return p
}

// syncPods writes the current plan's pod scopes; e.mu is held.
func (e *Enforcer) syncPods() error {
	cur := e.cur.Load()
	if cur.plan.Pods == 0 && e.pscope == nil {
		return nil
	}
	dyn, err := e.podScopes(cur.plan)
	if err != nil {
		return err
	}
	next := *cur
	if err := e.writeScopes(cur.plan, &next, dyn); err != nil {
		return err
	}
	e.cur.Store(&next)
	return nil
}

// writeScopes makes scope_cgroups the plan's static scopes OR dyn, and
// sets the scoped flag; cur.scopes is what was written.
func (e *Enforcer) writeScopes(pl *Plan, cur *current, dyn map[uint64]uint64) error {
	merged := make(map[uint64]uint64, len(pl.Scopes)+len(dyn))
	for id, m := range pl.Scopes {
		merged[id] |= m
	}
	for id, m := range dyn {
		merged[id] |= m
	}
	if err := e.state.SetScopes(merged); err != nil {
		return err
	}
	cur.scopes = merged
	// on while a pod-scoped policy exists, even with no pod chosen yet:
	// the mkdir program's entries must be read
	return e.state.SetPolicies(pl.Host, pl.HashHold, len(merged) > 0 || pl.Pods != 0)
}

// podScopes works out the plan's pod scopes: pod_scopes and
// container_scopes are written first (from now on a new pod's or known
// container's cgroup is scoped at its creation), then the pods' cgroups
// are found, and the cgroups the mkdir program scoped are added. Returns
// cgroup id → policies. e.mu is held.
func (e *Enforcer) podScopes(pl *Plan) (map[uint64]uint64, error) {
	pps := podPolicies(pl)
	if len(pps) == 0 {
		e.podBits, e.ctrBits = nil, nil
		if e.pscope != nil {
			return nil, errors.Join(e.pscope.SetPods(nil), e.pscope.SetContainers(nil))
		}
		return nil, nil
	}
	if e.pscope == nil {
		return nil, errors.New("pod scopes: the pod scope object is not loaded")
	}
	podBits := map[string]uint64{}
	ctrBits := map[string]map[string]uint64{}
	for uid, pe := range e.pods {
		pb, cb := pe.bits(pps)
		if pb != 0 {
			podBits[uid] = pb
		}
		if cb != nil {
			ctrBits[uid] = cb
		}
	}
	allCtr := map[string]uint64{}
	for _, cb := range ctrBits {
		for cid, bits := range cb {
			allCtr[cid] |= bits
		}
	}
	known := map[string]bool{}
	for _, pe := range e.pods {
		for _, cid := range pe.state.Containers {
			known[cid] = true
		}
	}
	if !e.podsSynced {
		// pods the pinned state had and the watch has not told of yet
		for uid, bits := range e.podBits {
			if e.pods[uid] == nil && bits&e.carry != 0 {
				podBits[uid] = bits & e.carry
			}
		}
		for cid, bits := range e.ctrBits {
			if !known[cid] && bits&e.carry != 0 {
				allCtr[cid] = bits & e.carry
			}
		}
	}
	if err := e.pscope.SetPods(podBits); err != nil {
		return nil, err
	}
	if err := e.pscope.SetContainers(allCtr); err != nil {
		return nil, err
	}
	e.podBits, e.ctrBits = podBits, allCtr

	var roots []string
	found := false
	rootsOnce := func() []string {
		if !found {
			roots, found = podscope.KubepodsRoots(e.cfg.Cgroup2Root), true
		}
		return roots
	}
	dyn := map[uint64]uint64{}
	for uid, pe := range e.pods {
		pb, cb := podBits[uid], ctrBits[uid]
		if pb == 0 && cb == nil {
			continue
		}
		e.findPod(uid, pe, cb, rootsOnce)
		if pb != 0 && pe.id != 0 {
			dyn[pe.id] |= pb
		}
		for cid, bits := range cb {
			if id := pe.ctr[cid]; id != 0 {
				dyn[id] |= bits
			}
		}
	}
	// what the mkdir program scoped, read after the walk: a cgroup made
	// after the walk is in here
	recPods, recCtrs, err := e.pscope.Recorded()
	if err != nil {
		return nil, err
	}
	var forget []uint64
	for id, uid := range recPods {
		if e.pods[uid] == nil && e.podsSynced {
			forget = append(forget, id)
			continue
		}
		dyn[id] |= podBits[uid]
	}
	for id, cid := range recCtrs {
		if !known[cid] && e.podsSynced {
			forget = append(forget, id)
			continue
		}
		dyn[id] |= allCtr[cid]
	}
	// what the walk found is recorded too: a restarted agent carries the
	// records over until it knows the pods again
	newPods, newCtrs := map[uint64]string{}, map[uint64]string{}
	for uid, pe := range e.pods {
		if pe.id != 0 && recPods[pe.id] == "" {
			newPods[pe.id] = uid
		}
		for cid, id := range pe.ctr {
			if recCtrs[id] == "" {
				newCtrs[id] = cid
			}
		}
	}
	if err := e.pscope.Record(newPods, newCtrs); err != nil {
		e.log.Warn("record the pods' cgroups", "err", err)
	}
	for id, m := range dyn {
		if m == 0 {
			delete(dyn, id)
		}
	}
	if err := e.pscope.Forget(forget); err != nil {
		e.log.Warn("forget the cgroups of deleted pods", "err", err)
	}
	return dyn, nil
}

// findPod finds (or checks again) the pod's cgroup and those of the
// containers in want.
func (e *Enforcer) findPod(uid string, pe *podEntry, want map[string]uint64, roots func() []string) {
	if pe.dir != "" {
		if _, err := os.Stat(pe.dir); err != nil {
			pe.dir, pe.id, pe.ctr = "", 0, nil
		}
	}
	if pe.dir == "" {
		dir, ok := podscope.FindPod(roots(), uid)
		if !ok {
			return
		}
		id, err := kernel.CgroupID(dir)
		if err != nil {
			return
		}
		pe.dir, pe.id = dir, id
	}
	missing := false
	for cid := range want {
		if pe.ctr[cid] == 0 {
			missing = true
		}
	}
	if !missing && len(pe.ctr) == len(want) {
		return
	}
	ctr := map[string]uint64{}
	dirs := podscope.Containers(pe.dir)
	for cid := range want {
		if id := pe.ctr[cid]; id != 0 {
			ctr[cid] = id
			continue
		}
		if dir, ok := dirs[cid]; ok {
			if id, err := kernel.CgroupID(dir); err == nil {
				ctr[cid] = id
			}
		}
	}
	pe.ctr = ctr
}
