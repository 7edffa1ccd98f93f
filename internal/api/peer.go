package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Peer is who is on the other end of an API connection, as the kernel
// recorded it when the client connected (SO_PEERCRED): neither the socket's
// mode nor anything the client sends can change it.
type Peer struct {
	PID int32
	UID uint32
	GID uint32
	// Groups are the supplementary groups (SO_PEERGROUPS), as of connect.
	Groups []uint32
}

func (p Peer) String() string {
	return fmt.Sprintf("uid %d gid %d pid %d", p.UID, p.GID, p.PID)
}

type peerKey struct{}

// peerContext is the server's ConnContext: it reads the connecting
// process's credentials once per connection.
func peerContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	ctlErr := raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if ctlErr != nil || err != nil {
		return ctx
	}
	p := Peer{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}
	_ = raw.Control(func(fd uintptr) { p.Groups = peerGroups(int(fd)) })
	return context.WithValue(ctx, peerKey{}, p)
}

// peerGroups reads SO_PEERGROUPS (Linux 4.13), which x/sys/unix has no
// typed call for: the groups as of connect, unlike /proc/PID/status, which
// could by then describe another process under a reused pid.
func peerGroups(fd int) []uint32 {
	buf := make([]uint32, 256)
	size := uint32(len(buf) * 4)
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return nil // ERANGE past 256 groups: judged on the primary group
	}
	return buf[:size/4]
}

func peerOf(r *http.Request) (Peer, bool) {
	p, ok := r.Context().Value(peerKey{}).(Peer)
	return p, ok
}

// access is what an endpoint needs of its caller.
type access int

const (
	// readAccess: status, streams, the policy list. Root, or a member of
	// the configured read group.
	readAccess access = iota
	// changeAccess: applying and clearing policies. Root only.
	changeAccess
)

// guard serves h only to callers with the access it needs; a change is
// logged with who made it.
func (s *Server) guard(need access, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := peerOf(r)
		if !ok {
			http.Error(w, "the caller's credentials are unknown", http.StatusForbidden)
			return
		}
		if err := s.allowed(p, need); err != nil {
			s.opts.Log.Warn("local API: refused", "method", r.Method, "path", r.URL.Path, "uid", p.UID, "pid", p.PID, "comm", commOf(p.PID), "why", err.Error())
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		if need == changeAccess {
			s.opts.Log.Info("local API: change", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
				"uid", p.UID, "pid", p.PID, "comm", commOf(p.PID))
		}
		h(w, r)
	}
}

func (s *Server) allowed(p Peer, need access) error {
	if p.UID == 0 {
		return nil
	}
	if need == changeAccess {
		return fmt.Errorf("only root may change the agent's policies (caller: %s)", p)
	}
	if s.opts.ReadGID > 0 && inGroup(p, uint32(s.opts.ReadGID)) {
		return nil
	}
	if s.opts.ReadGID <= 0 {
		return fmt.Errorf("only root may read the agent (caller: %s); api.read_group lets a group read", p)
	}
	return fmt.Errorf("only root and group %d may read the agent (caller: %s)", s.opts.ReadGID, p)
}

// inGroup says whether the caller had gid as its group or one of its
// supplementary groups when it connected.
func inGroup(p Peer, gid uint32) bool {
	return p.GID == gid || slices.Contains(p.Groups, gid)
}

// commOf is the caller's command name for the log ("" once it is gone);
// the log handler quotes it.
func commOf(pid int32) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
