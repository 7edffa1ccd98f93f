package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/netguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// benchCgroup is the cgroup v2 the bench moved itself into.
type benchCgroup struct {
	root, path, home string // the cgroup2 mount, ours, where we came from
	id               uint64
}

// enterCgroup makes a child of the cgroup2 root and moves this process
// (every thread) into it.
func enterCgroup() (*benchCgroup, error) {
	root, home, err := cgroup2()
	if err != nil {
		return nil, err
	}
	c := &benchCgroup{root: root, home: home, path: filepath.Join(root, fmt.Sprintf("vigil-bench-netdeny-%d", os.Getpid()))}
	if err := os.Mkdir(c.path, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(c.path, &st); err != nil {
		os.Remove(c.path)
		return nil, err
	}
	c.id = st.Ino // a cgroup v2 directory's inode number is its id
	if err := os.WriteFile(filepath.Join(c.path, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		os.Remove(c.path)
		return nil, fmt.Errorf("enter cgroup: %w", err)
	}
	return c, nil
}

// leave moves the process back and removes the cgroup.
func (c *benchCgroup) leave() error {
	if err := os.WriteFile(filepath.Join(c.home, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		return fmt.Errorf("leave cgroup: %w", err)
	}
	var err error
	for i := 0; i < 50; i++ { // the move settles asynchronously
		if err = os.Remove(c.path); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup: %w", err)
}

// cgroup2 finds the cgroup2 mount and this process's cgroup v2 directory.
func cgroup2() (root, home string, err error) {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if _, after, ok := strings.Cut(line, " - "); ok && strings.HasPrefix(after, "cgroup2 ") {
			root = strings.Fields(line)[4]
			break
		}
	}
	if root == "" {
		return "", "", errors.New("no cgroup2 filesystem is mounted")
	}
	raw, err = os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			return root, filepath.Join(root, rel), nil
		}
	}
	return "", "", errors.New("no cgroup v2 line in /proc/self/cgroup")
}

var deny = pinned.Verdict{Enforce: 1}

// loopbackNet is what no generated entry may cover: the measured calls
// go there.
var loopbackNet = netip.MustParsePrefix("127.0.0.0/8")

// randomPrefixes are n distinct IPv4 prefixes, /8 to /32, none touching
// loopback; the same every run.
func randomPrefixes(n int) []netip.Prefix {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for len(out) < n {
		var a [4]byte
		v := rng.Uint32()
		a[0], a[1], a[2], a[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 8+rng.IntN(25)).Masked()
		if p.Overlaps(loopbackNet) || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// cidrs: n CIDRs, any protocol, any port.
func cidrs(n int) []netguard.Rule {
	var rules []netguard.Rule
	for _, p := range randomPrefixes(n) {
		rules = append(rules, netguard.Rule{Prefix: p, Verdict: deny})
	}
	return rules
}

// mixed: n CIDRs spread over every class the measured calls look up:
// (tcp, tcpPort), (udp, udpPort), (tcp, any), (udp, any), (any, either
// port), (any, any).
func mixed(n int, tcpPort, udpPort uint16) []netguard.Rule {
	classes := []netguard.Rule{
		{Protocol: netguard.ProtocolTCP, Port: tcpPort},
		{Protocol: netguard.ProtocolUDP, Port: udpPort},
		{Protocol: netguard.ProtocolTCP},
		{Protocol: netguard.ProtocolUDP},
		{Port: tcpPort},
		{Port: udpPort},
		{},
	}
	var rules []netguard.Rule
	for i, p := range randomPrefixes(n) {
		r := classes[i%len(classes)]
		r.Prefix, r.Verdict = p, deny
		rules = append(rules, r)
	}
	return rules
}

// hosts: n single IPv4 addresses outside loopback, any protocol and port,
// as an intel feed's ip-dst indicators become.
func hosts(n int) []netguard.Rule {
	rng := rand.New(rand.NewPCG(3, 4))
	seen := make(map[netip.Addr]bool, n)
	rules := make([]netguard.Rule, 0, n)
	for len(rules) < n {
		v := rng.Uint32()
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if loopbackNet.Contains(a) || seen[a] {
			continue
		}
		seen[a] = true
		rules = append(rules, netguard.Rule{Prefix: netip.PrefixFrom(a, 32), Verdict: deny})
	}
	return rules
}

// mapMemory is what the kernel accounts for the IPv4 connect table.
func mapMemory(g *netguard.Guard) string {
	info, err := g.DenyMap4().Info()
	if err != nil {
		return err.Error()
	}
	n, ok := info.Memlock()
	if !ok {
		return "unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
