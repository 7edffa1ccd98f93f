package file

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Limits of the watch tree (file.h).
const (
	treeNodes     = len(fileWatchTree{}.Node)
	treeSlots     = len(fileWatchTree{}.Slot)
	treeProbes    = 8
	treeDepth     = 32
	treeNameBytes = len(fileTreeNode{}.Word) * 8
	treeAnywhere  = treeNodes // the parent of the component rules
)

// tnode is one name of the watch tree while it is built.
type tnode struct {
	name            string
	depth           int
	parent          *tnode
	index           int // in the kernel's array
	children        map[string]*tnode
	dirOps, fileOps uint32 // the keys "path/" and "path\x00", when present
	hasDir, hasFile bool
	below, here     uint32 // what the trie answers below and at this path
	reach           uint32 // ops of any key at or below
	ask             bool   // the names cannot settle it here
}

// buildTree lays the trie's keys out as the kernel's watch tree (file.h):
// every path's names, root first, each node holding what the trie answers
// for the paths below it and for itself, so that the kernel can judge a
// file name by name and stop at the first name nothing watched lies
// below. Where the names cannot settle it (a name longer than the kernel
// compares, a path deeper than it follows, too many names in all), the
// node sends the kernel to the trie. The component rules are nodes too,
// children of TREE_ANYWHERE; they always fit. The keys must have their
// inherited ops (rules.inherit).
func (r *rules) buildTree() error {
	root := &tnode{children: map[string]*tnode{}}
	for k, ops := range r.keys {
		p, dir := strings.TrimSuffix(k, "/"), strings.HasSuffix(k, "/")
		p = strings.TrimSuffix(p, "\x00")
		n := root
		for _, name := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
			c := n.children[name]
			if c == nil {
				c = &tnode{name: name, depth: n.depth + 1, parent: n, children: map[string]*tnode{}}
				n.children[name] = c
			}
			n = c
		}
		if dir {
			n.dirOps, n.hasDir = ops, true
		} else {
			n.fileOps, n.hasFile = ops, true
		}
	}
	var all []*tnode
	var settle func(n *tnode, parentBelow uint32)
	settle = func(n *tnode, parentBelow uint32) {
		all = append(all, n)
		n.below, n.here = parentBelow, parentBelow
		if n.hasDir {
			n.below = n.dirOps
		}
		if n.hasFile {
			n.here = n.fileOps
		}
		n.reach = n.dirOps | n.fileOps
		n.ask = len(n.name) > treeNameBytes || (n.depth >= treeDepth && len(n.children) > 0)
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			names = append(names, name)
		}
		slices.Sort(names) // the same layout for the same keys
		for _, name := range names {
			c := n.children[name]
			settle(c, n.below)
			n.reach |= c.reach
		}
	}
	settle(root, 0)

	comps := make([]*tnode, 0, len(r.comps))
	for _, name := range slices.Sorted(maps.Keys(r.comps)) {
		comps = append(comps, &tnode{name: name, here: r.comps[name]})
	}
	if len(all)+len(comps) <= treeNodes && r.layTree(all, comps) {
		return nil
	}
	// too many names, or too many in one place: every path goes to the
	// trie, the component rules stay
	if !r.layTree([]*tnode{{ask: true}}, comps) {
		return fmt.Errorf("file.components: %d names do not fit the kernel's table", len(comps))
	}
	return nil
}

// layTree writes the nodes (root first, each after its parent), then the
// component rules, and their hash slots; false when a node finds no free
// slot within treeProbes.
func (r *rules) layTree(all, comps []*tnode) bool {
	t := &r.tree
	*t = fileWatchTree{}
	place := func(i int, kn *fileTreeNode) bool {
		h := treeHash(kn.Parent, kn.Len, kn.Word[0])
		for p := uint32(0); p < treeProbes; p++ {
			if s := &t.Slot[(h+p)%uint32(treeSlots)]; *s == 0 {
				*s = uint16(i + 1)
				return true
			}
		}
		return false
	}
	for i, n := range all {
		n.index = i
		kn := &t.Node[i]
		kn.Len, kn.Below, kn.Here, kn.Reach = uint32(len(n.name)), fileWatchOp(n.below), fileWatchOp(n.here), fileWatchOp(n.reach)
		kn.Word = nameWords(n.name)
		if n.ask {
			kn.Flags = fileTreeFlagTREE_ASK_TRIE
		} else {
			for _, c := range n.children {
				kn.ChildLens |= 1 << min(len(c.name), 31)
			}
		}
		if i == 0 || n.parent.ask {
			continue // the root, or below a node the trie settles: never looked up
		}
		kn.Parent = uint32(n.parent.index)
		if !place(i, kn) {
			return false
		}
	}
	for j, c := range comps {
		i := len(all) + j
		kn := &t.Node[i]
		kn.Len, kn.Here, kn.Parent, kn.Word = uint32(len(c.name)), fileWatchOp(c.here), uint32(treeAnywhere), nameWords(c.name)
		if !place(i, kn) {
			return false
		}
	}
	return true
}

// treeHash is tree_hash (filter.bpf.h).
func treeHash(parent, length uint32, w0 uint64) uint32 {
	return uint32((w0 ^ uint64(length)<<56 ^ uint64(parent)<<40) * 0x9E3779B97F4A7C15 >> 55)
}

// nameWords packs a name's first bytes as the kernel loads them:
// little-endian words, zero-padded.
func nameWords(name string) [treeNameBytes / 8]uint64 {
	var b [treeNameBytes]byte
	copy(b[:], name)
	var w [treeNameBytes / 8]uint64
	for i := range w {
		for j := 7; j >= 0; j-- {
			w[i] = w[i]<<8 | uint64(b[i*8+j])
		}
	}
	return w
}
