package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// DefaultAliasRefresh is how often the alias table is rebuilt when
// Config.AliasRefresh is 0.
const DefaultAliasRefresh = 5 * time.Second

// maxAliases bounds the alias table (the kernel map's size).
const maxAliases = 512

// aliasPaths are the files watched by identity as well as by path, with
// the ops they are watched for: the exact files, and the regular files
// directly in the directories watched for reads (host keys in /etc/ssh,
// sudo and PAM rules). A file reached through another name (a hard link,
// a bind mount of its directory) is then still reported.
func (c Config) aliasPaths() map[string]uint32 {
	out := map[string]uint32{}
	for _, p := range c.Exact {
		out[filepath.Clean(p)] |= opRead | opWrite
	}
	for _, d := range c.Watch {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue // not there (yet): the next refresh looks again
		}
		for _, e := range ents {
			if e.Type().IsRegular() && len(out) < maxAliases {
				out[filepath.Join(filepath.Clean(d), e.Name())] |= opRead | opWrite
			}
		}
	}
	return out
}

// aliasTable stats the paths: the identities the kernel compares an
// opened file's with. A path that is missing or not a regular file is
// left out.
func aliasTable(paths map[string]uint32) map[fileFileId]fileAlias {
	out := make(map[fileFileId]fileAlias, len(paths))
	for p, ops := range paths {
		var st unix.Stat_t
		if len(out) >= maxAliases || len(p) >= len(fileAlias{}.Path) ||
			unix.Stat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		// the kernel's s_dev: major << 20 | minor
		id := fileFileId{Ino: st.Ino, Dev: unix.Major(st.Dev)<<20 | unix.Minor(st.Dev)}
		a := fileAlias{Ops: ops, Len: uint32(len(p) + 1)}
		for i := range len(p) {
			a.Path[i] = int8(p[i])
		}
		out[id] = a
	}
	return out
}

// refreshAliases makes the kernel's alias table hold the identities of
// the watched files now: a file replaced by a rename (passwd writes a new
// /etc/shadow) has a new inode, which goes in, and the old one out.
func (s *Sensor) refreshAliases() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := aliasTable(s.aliasPaths)
	m := s.coll.Maps[fileMapAliases]
	var errs []error
	for id, a := range want {
		if old, ok := s.aliases[id]; ok && old == a {
			continue
		}
		if err := m.Put(&id, &a); err != nil {
			errs = append(errs, fmt.Errorf("alias %d:%d: %w", id.Dev, id.Ino, err))
			continue
		}
		s.aliases[id] = a
	}
	for id := range s.aliases {
		if _, ok := want[id]; ok {
			continue
		}
		if err := m.Delete(&id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("unalias %d:%d: %w", id.Dev, id.Ino, err))
			continue
		}
		delete(s.aliases, id)
	}
	return errors.Join(errs...)
}

// refreshLoop refreshes the alias table every period until stop closes.
func (s *Sensor) refreshLoop(period time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = s.refreshAliases() // a failure is retried at the next tick
		}
	}
}
