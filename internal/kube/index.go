package kube

import (
	"maps"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
)

// maxIDsPerPod bounds the container ids remembered for one pod: a
// container restarting in a loop gets a new id each time, and the ids of
// the pod's current status are the ones events come from.
const maxIDsPerPod = 64

// index is what the watch and the runtime said about this node's pods, in
// memory, for Fill to read on the event path. One mutex guards it all:
// it is taken by the watch (a pod changed), by the runtime lookups and by
// Fill (a container met for the first time), each for a few map
// operations; never while calling the table, whose lock Fill runs under.
type index struct {
	mu         sync.Mutex
	pods       map[string]*podEntry // pod uid →
	containers map[string]*ctrEntry // container id →
	// gone lists, oldest first, when pods were deleted and when
	// placeholders were made, for expiry and eviction. A mark whose pod
	// has since come back (or was dropped) is stale and skipped.
	gone      []goneMark
	max       int
	retention time.Duration

	retained, placeholders int
	evictions              uint64
	// waiters are containers whose lookup learnt nothing and that wait
	// for their pod to come from the API server (pod uid → container ids).
	waiters map[string][]string
}

type podEntry struct {
	uid string
	// pod is the API server's pod, nil for a placeholder: a pod met
	// through one of its containers before the watch reported it.
	pod *event.Pod
	// criPod is what the runtime said of a placeholder's pod (name,
	// namespace, labels), until the watch reports it.
	criPod *event.Pod
	// ids are the pod's containers: true for those in the pod's latest
	// status, false for those met only through the table.
	ids  map[string]bool
	gone time.Time // when deleted (or made a placeholder); zero while live
	// privileged are the names of the containers the pod's spec runs
	// privileged
	privileged map[string]bool
}

// ctrEntry is what is known of one container, and what was last
// published of it to the table (so an unchanged pod publishes nothing).
type ctrEntry struct {
	podUID string
	info   ctrInfo
	sent   published
}

type ctrInfo struct {
	id, name, image, digest string
}

type published struct {
	pod                 *event.Pod
	name, image, digest string
	privileged          bool
}

type goneMark struct {
	uid string
	at  time.Time
}

// update is one Table.Update to make, outside the index's lock.
type update struct {
	id  string
	pub published
}

// edit sets what the update knows; the rest of the container stays.
func (u update) edit(c *event.Container) {
	if u.pub.pod != nil {
		c.Pod = u.pub.pod
	}
	if u.pub.name != "" {
		c.Name = u.pub.name
	}
	if u.pub.image != "" {
		c.Image = u.pub.image
	}
	if u.pub.digest != "" {
		c.ImageDigest = u.pub.digest
	}
	if u.pub.privileged { // a container's spec never changes: once known, it stays
		c.Privileged = true
	}
}

func newIndex(max int, retention time.Duration) *index {
	return &index{
		pods:       map[string]*podEntry{},
		containers: map[string]*ctrEntry{},
		waiters:    map[string][]string{},
		max:        max,
		retention:  retention,
	}
}

// upsert stores a pod the watch reported and returns the updates that
// bring the table's containers of the pod up to date, and the containers
// that were waiting for it. ok is false when the index is full of live
// pods and the pod was not stored (counted as an eviction).
func (x *index) upsert(p *event.Pod, ctrs []ctrInfo, privileged ...string) (ups []update, waiting []string, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.pods[p.UID]
	if e == nil {
		if !x.roomLocked() {
			x.evictions++
			return nil, nil, false
		}
		e = &podEntry{uid: p.UID, ids: map[string]bool{}}
		x.pods[p.UID] = e
	}
	x.reviveLocked(e)
	if e.pod != nil && samePod(e.pod, p) {
		p = e.pod // the same value: processes need no re-binding
	}
	e.pod, e.criPod = p, nil
	e.privileged = nil
	for _, name := range privileged {
		if e.privileged == nil {
			e.privileged = make(map[string]bool, len(privileged))
		}
		e.privileged[name] = true
	}
	for id := range e.ids {
		e.ids[id] = false
	}
	for _, c := range ctrs {
		ce := x.ctrLocked(c.id, e)
		e.ids[c.id] = true
		ce.info = merge(ce.info, c)
	}
	if len(e.ids) > maxIDsPerPod {
		for id, current := range e.ids {
			if !current {
				delete(e.ids, id)
				delete(x.containers, id)
			}
		}
	}
	for id := range e.ids {
		ce := x.containers[id]
		want := e.publish(ce, e.pod)
		if want != ce.sent {
			ce.sent = want
			ups = append(ups, update{id: id, pub: want})
		}
	}
	waiting = x.waiters[p.UID]
	delete(x.waiters, p.UID)
	return ups, waiting, true
}

// publish is what the table is to show of container ce of the pod, p
// standing for the pod's value.
func (e *podEntry) publish(ce *ctrEntry, p *event.Pod) published {
	return published{pod: p, name: ce.info.name, image: ce.info.image, digest: ce.info.digest,
		privileged: ce.info.name != "" && e.privileged[ce.info.name]}
}

// merge lays what b knows over a.
func merge(a, b ctrInfo) ctrInfo {
	if b.name != "" {
		a.name = b.name
	}
	if b.image != "" {
		a.image = b.image
	}
	if b.digest != "" {
		a.digest = b.digest
	}
	return a
}

// samePod: the fields events show are equal.
func samePod(a, b *event.Pod) bool {
	if a.Name != b.Name || a.Namespace != b.Namespace || !maps.Equal(a.Labels, b.Labels) {
		return false
	}
	if a.Workload == nil || b.Workload == nil {
		return a.Workload == b.Workload
	}
	return *a.Workload == *b.Workload
}

// remove marks a pod deleted; it stays resolvable until expire drops it.
func (x *index) remove(uid string, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.pods[uid]
	if e == nil || !e.gone.IsZero() {
		return
	}
	e.gone = now
	x.retained++
	x.gone = append(x.gone, goneMark{uid: uid, at: now})
}

// reviveLocked makes a deleted pod or a placeholder live again.
func (x *index) reviveLocked(e *podEntry) {
	if e.gone.IsZero() {
		return
	}
	if e.pod == nil {
		x.placeholders--
	} else {
		x.retained--
	}
	e.gone = time.Time{}
}

// ctrLocked returns container id's entry, making it a container of e.
func (x *index) ctrLocked(id string, e *podEntry) *ctrEntry {
	ce := x.containers[id]
	if ce == nil || ce.podUID != e.uid {
		ce = &ctrEntry{podUID: e.uid}
		x.containers[id] = ce
	}
	if _, ok := e.ids[id]; !ok {
		e.ids[id] = false
	}
	return ce
}

// placeholderLocked returns the entry of pod uid, making a placeholder
// when the pod is unknown; nil when the index has no room.
func (x *index) placeholderLocked(uid string, now time.Time) *podEntry {
	if e := x.pods[uid]; e != nil {
		return e
	}
	if !x.roomLocked() {
		x.evictions++
		return nil
	}
	e := &podEntry{uid: uid, ids: map[string]bool{}, gone: now}
	x.pods[uid] = e
	x.placeholders++
	x.gone = append(x.gone, goneMark{uid: uid, at: now})
	return e
}

// fill is Source.Fill's work: see there.
func (x *index) fill(id container.Identity, c *event.Container, now time.Time) (complete bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.placeholderLocked(id.PodUID, now)
	if e == nil {
		return false
	}
	ce := x.ctrLocked(id.ID, e)
	p := e.pod
	if p == nil {
		p = e.criPod
	}
	u := update{id: id.ID, pub: e.publish(ce, p)}
	u.edit(c)
	ce.sent = u.pub
	return e.pod != nil && ce.info.name != "" && ce.info.image != ""
}

// learnt records what the runtime said of container c of pod uid, and of
// the pod when the watch has not reported it. It returns the update to
// publish: only what the table may lack (the API server's values, when
// known, are already there and win).
func (x *index) learnt(uid string, c ctrInfo, criPod *event.Pod, now time.Time) update {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.placeholderLocked(uid, now)
	if e == nil {
		return update{id: c.id, pub: published{pod: criPod, name: c.name, image: c.image, digest: c.digest}}
	}
	ce := x.ctrLocked(c.id, e)
	ce.info = merge(c, ce.info) // the watch's values win
	if e.pod == nil && criPod != nil {
		e.criPod = criPod
	}
	p := e.pod
	if p == nil {
		p = e.criPod
	}
	ce.sent = e.publish(ce, p)
	return update{id: c.id, pub: ce.sent}
}

// wait records that container id waits for pod uid; false when the pod is
// already known (nothing to wait for).
func (x *index) wait(uid, id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e := x.pods[uid]; e != nil && e.pod != nil {
		return false
	}
	x.waiters[uid] = append(x.waiters[uid], id)
	return true
}

// stopWaiting removes container id from pod uid's waiters; false when it
// was not there (the pod came, or it was never waiting).
func (x *index) stopWaiting(uid, id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	ids := x.waiters[uid]
	for i, w := range ids {
		if w == id {
			ids = append(ids[:i], ids[i+1:]...)
			if len(ids) == 0 {
				delete(x.waiters, uid)
			} else {
				x.waiters[uid] = ids
			}
			return true
		}
	}
	return false
}

// allWaiting empties the waiters and returns them, for a closing source.
func (x *index) allWaiting() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for _, ids := range x.waiters {
		out = append(out, ids...)
	}
	clear(x.waiters)
	return out
}

// expire drops the deleted pods and the placeholders older than the
// retention.
func (x *index) expire(now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for len(x.gone) > 0 && now.Sub(x.gone[0].at) >= x.retention {
		x.dropMarkLocked()
	}
	x.compactLocked()
}

// roomLocked makes room for one more pod, evicting the oldest deleted pod
// or placeholder when the index is full; false when every pod is live.
func (x *index) roomLocked() bool {
	for len(x.pods) >= x.max {
		if len(x.gone) == 0 {
			return false
		}
		if x.dropMarkLocked() {
			x.evictions++
		}
	}
	return true
}

// dropMarkLocked takes the oldest gone mark and drops its pod if the mark
// is current; it reports whether a pod was dropped.
func (x *index) dropMarkLocked() bool {
	m := x.gone[0]
	x.gone[0] = goneMark{}
	x.gone = x.gone[1:]
	e := x.pods[m.uid]
	if e == nil || !e.gone.Equal(m.at) {
		return false
	}
	for id := range e.ids {
		if ce := x.containers[id]; ce != nil && ce.podUID == e.uid {
			delete(x.containers, id)
		}
	}
	delete(x.pods, m.uid)
	if e.pod == nil {
		x.placeholders--
	} else {
		x.retained--
	}
	return true
}

// compactLocked copies the gone list when most of its backing array is
// behind it, so the array does not grow with every pod ever deleted.
func (x *index) compactLocked() {
	if cap(x.gone) > 64 && len(x.gone) < cap(x.gone)/4 {
		x.gone = append([]goneMark(nil), x.gone...)
	}
}

// indexStats are the index's sizes.
type indexStats struct {
	pods, retained, placeholders, containers int
	evictions                                uint64
}

func (x *index) stats() indexStats {
	x.mu.Lock()
	defer x.mu.Unlock()
	return indexStats{pods: len(x.pods) - x.retained - x.placeholders, retained: x.retained,
		placeholders: x.placeholders, containers: len(x.containers), evictions: x.evictions}
}
