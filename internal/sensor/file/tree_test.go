package file

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"testing"
)

// kernelTree is tree_ops (filter.bpf.h) in Go: the answer for a path's names,
// root first, or ask when the kernel would go to the trie.
func kernelTree(t *fileWatchTree, names []string, need uint32) (ops uint32, ask bool) {
	if t.Node[0].Flags&fileTreeFlagTREE_ASK_TRIE != 0 {
		return 0, true
	}
	cur := uint32(0)
	for k := len(names); k > 0 && len(names)-k < treeDepth; k-- {
		name := names[len(names)-k]
		if t.Node[cur].ChildLens>>min(len(name), 31)&1 == 0 {
			break
		}
		w := nameWords(name)
		h := treeHash(cur, uint32(len(name)), w[0])
		var c *fileTreeNode
		at := uint32(0)
		for i := uint32(0); i < treeProbes; i++ {
			idx := t.Slot[(h+i)%uint32(treeSlots)]
			if idx == 0 {
				break
			}
			n := &t.Node[idx-1]
			if n.Parent == cur && int(n.Len) == len(name) && n.Word == w {
				c, at = n, uint32(idx-1)
				break
			}
		}
		if c == nil {
			break
		}
		if c.Flags&fileTreeFlagTREE_ASK_TRIE != 0 {
			return 0, true
		}
		if k == 1 {
			return uint32(c.Here), false
		}
		ops = uint32(c.Below)
		if uint32(c.Below)&need&^opFile != 0 || uint32(c.Reach)&need == 0 {
			break
		}
		cur = at
	}
	return ops, false
}

// trieAnswer is the LPM trie: the ops of the longest key that starts the
// path with its NUL.
func trieAnswer(keys map[string]uint32, p string) uint32 {
	best, ops := -1, uint32(0)
	for k, o := range keys {
		if strings.HasPrefix(p+"\x00", k) && len(k) > best {
			best, ops = len(k), o
		}
	}
	return ops
}

func pathNames(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

// probes are paths around every watched one: itself, its parents, below
// it, siblings that share a prefix or a length, long names.
func probes(keys map[string]uint32, rng *rand.Rand) []string {
	set := map[string]bool{"/": true, "/x": true, "/x/y/z": true}
	for k := range keys {
		p := strings.TrimSuffix(strings.TrimSuffix(k, "/"), "\x00")
		for q := p; q != "/"; q = path.Dir(q) {
			set[q] = true
			set[q+"/f"] = true
			set[q+"/a/b/c"] = true
			set[q+"X"] = true
			set[q[:len(q)-1]+"Z"] = true // same length, last byte differs
			set[q+"/"+strings.Repeat("n", 40)] = true
			set[path.Dir(q)+"/"+strings.Repeat("q", rng.IntN(45)+1)] = true
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	return out
}

func checkTreeAgainstTrie(t *testing.T, cfg Config) rules {
	t.Helper()
	r, err := cfg.compile(identity)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	asked := 0
	for _, p := range probes(r.keys, rng) {
		for _, need := range []uint32{opRead, opWrite, opWrite | opExec, opExec, opWrite | opFile, opWrite | opFile | opDel, opWrite | opFile | opSetid, opHidden} {
			tree, ask := kernelTree(&r.tree, pathNames(p), need)
			if ask {
				asked++
				continue
			}
			if trie := trieAnswer(r.keys, p); (tree&need != 0) != (trie&need != 0) {
				t.Errorf("%q need %b: tree says %b, trie %b", p, need, tree, trie)
			}
		}
	}
	t.Logf("%d probes sent to the trie", asked)
	return r
}

// The watch tree answers as the trie does wherever it answers at all.
func TestTreeAnswersAsTheTrie(t *testing.T) {
	checkTreeAgainstTrie(t, DefaultConfig())
	r := checkTreeAgainstTrie(t, only(Config{
		Watch:       []string{"/srv/data", "/a/" + strings.Repeat("l", 40) + "/b", "/deep/" + strings.Repeat("d/", 40) + "e"},
		Exact:       []string{"/srv/data/x/y", "/etc/shadow", "/etc/shadowX"},
		WatchWrites: []string{"/", "/etc", "/srv"},
		ExecDirs:    []string{"/srv/data/x", "/dev/shm"},
		FileWrites:  []string{"/dev", "/srv/data"},
		DeleteDirs:  []string{"/srv/tmp"},
		HiddenDirs:  []string{"/srv/tmp", "/dev/shm", "/tmp"},
	}))
	// the long name and the deep path are the trie's to settle
	if ops, ask := kernelTree(&r.tree, pathNames("/a/"+strings.Repeat("l", 40)+"/b/f"), opRead); !ask {
		t.Errorf("a 40-byte watched name settled by the tree: %b", ops)
	}
	if _, ask := kernelTree(&r.tree, pathNames("/deep/"+strings.Repeat("d/", 40)+"e"), opRead); !ask {
		t.Error("a path deeper than the tree follows settled by the tree")
	}
	if _, ask := kernelTree(&r.tree, pathNames("/usr/lib/x"), opRead); ask {
		t.Error("an unwatched path sent to the trie")
	}
}

// Many names side by side share hash slots; each is still found.
func TestTreeManySiblings(t *testing.T) {
	var dirs []string
	for i := 0; i < 200; i++ {
		dirs = append(dirs, fmt.Sprintf("/srv/d%d", i))
	}
	r := checkTreeAgainstTrie(t, only(Config{WatchWrites: dirs}))
	if r.tree.Node[0].Flags != 0 {
		t.Fatal("201 names did not fit the tree")
	}
	for _, d := range dirs {
		if ops, ask := kernelTree(&r.tree, pathNames(d+"/f"), opWrite); ask || ops != opWrite {
			t.Errorf("%s/f: ops %b ask %v", d, ops, ask)
		}
	}
}

// Past TREE_NODES names the tree sends every path to the trie.
func TestTreeTooManyNamesAsksTheTrie(t *testing.T) {
	var dirs []string
	for i := 0; i < treeNodes; i++ {
		dirs = append(dirs, fmt.Sprintf("/d%d", i))
	}
	r := checkTreeAgainstTrie(t, only(Config{WatchWrites: dirs}))
	if r.tree.Node[0].Flags&fileTreeFlagTREE_ASK_TRIE == 0 {
		t.Errorf("%d top-level names fit a tree of %d", len(dirs), treeNodes)
	}
}

func TestTreeLayout(t *testing.T) {
	r, err := only(Config{WatchWrites: []string{"/etc", "/usr/bin", "/usr/lib"}, Exact: []string{"/etc/shadow"}}).compile(identity)
	if err != nil {
		t.Fatal(err)
	}
	find := func(parent uint32, name string) *fileTreeNode {
		for i := range r.tree.Node[1:] {
			n := &r.tree.Node[i+1]
			if n.Parent == parent && n.Len == uint32(len(name)) && n.Word == nameWords(name) {
				return n
			}
		}
		t.Fatalf("no node %q below %d", name, parent)
		return nil
	}
	if root := r.tree.Node[0]; root.ChildLens != 1<<3 || root.Flags != 0 {
		t.Fatalf("root %+v: want etc and usr", root)
	}
	etc, usr := find(0, "etc"), find(0, "usr")
	if etc.Below != fileWatchOp(opWrite) || etc.Here != fileWatchOp(opWrite) || etc.Reach != fileWatchOp(opRead|opWrite) {
		t.Errorf("etc %+v", etc)
	}
	if usr.Below != 0 || usr.Reach != fileWatchOp(opWrite) || usr.ChildLens != 1<<3 {
		t.Errorf("usr %+v: not watched itself, writes below", usr)
	}
	etcIndex := uint32(etc.Parent) // 0; find etc's own index for its child
	for i := range r.tree.Node {
		if &r.tree.Node[i] == etc {
			etcIndex = uint32(i)
		}
	}
	if shadow := find(etcIndex, "shadow"); shadow.Here != fileWatchOp(opRead|opWrite) || shadow.Below != fileWatchOp(opWrite) {
		t.Errorf("shadow %+v", shadow)
	}
	used := 0
	for _, s := range r.tree.Slot {
		if s != 0 {
			used++
		}
	}
	if used != 5 { // etc, shadow, usr, bin, lib
		t.Errorf("%d hash slots used, want 5", used)
	}
}

// kernelComp is comp_ops (filter.bpf.h) in Go.
func kernelComp(t *fileWatchTree, name string) uint32 {
	w := nameWords(name)
	h := treeHash(uint32(treeAnywhere), uint32(len(name)), w[0])
	for i := uint32(0); i < treeProbes; i++ {
		idx := t.Slot[(h+i)%uint32(treeSlots)]
		if idx == 0 {
			break
		}
		if n := &t.Node[idx-1]; n.Parent == uint32(treeAnywhere) && int(n.Len) == len(name) && n.Word == w {
			return uint32(n.Here)
		}
	}
	return 0
}

// The component rules live in the tree, and stay when the paths do not fit.
func TestTreeHoldsTheComponentRules(t *testing.T) {
	var dirs []string
	for i := 0; i < treeNodes; i++ {
		dirs = append(dirs, fmt.Sprintf("/d%d", i))
	}
	for _, cfg := range []Config{DefaultConfig(), only(Config{WatchWrites: dirs, Components: []string{".ssh"}, ComponentWrites: []string{".bashrc"}})} {
		r, err := cfg.compile(identity)
		if err != nil {
			t.Fatal(err)
		}
		for name, ops := range r.comps {
			if got := kernelComp(&r.tree, name); got != ops {
				t.Errorf("component %q: kernel finds ops %b, want %b", name, got, ops)
			}
		}
		for _, name := range []string{".sshx", ".ss", "bashrc", ".bashrC", strings.Repeat("x", 31)} {
			if got := kernelComp(&r.tree, name); got != 0 {
				t.Errorf("%q matched a component rule: %b", name, got)
			}
		}
	}
}
