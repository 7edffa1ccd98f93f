// Package api is the agent's local API: HTTP over a unix socket that only
// root may open (mode 0600, in a 0700 directory) — or root and one group
// (0660 and 0750, ReadGID) — serving the agent's status and live streams
// of events and alerts. `vigil status` and `vigil events` are its clients
// (client.go). The socket's mode is the first gate, not the only one: every
// request is judged on the caller's credentials as the kernel gives them
// (peer.go): root may do everything, the read group may only read.
//
//	GET /v1/status   Status as JSON
//	GET /v1/events   NDJSON: events and alerts as the schema describes them,
//	                 filtered by the query (see StreamFilter); a line
//	                 {"kind":"stream_dropped","dropped":N} says N lines were
//	                 dropped because the reader was slow.
//	/v1/policies     the policy set: list, apply, clear (policy.go)
//	GET /v1/modules  the kernel's module inventory with the loads the
//	                 agent saw (modules.go)
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/metrics"
)

// ErrInUse says another agent answers on the socket.
var ErrInUse = errors.New("socket in use")

// SocketMode is the socket's permission: root only, as events name every
// user's commands and files.
const SocketMode os.FileMode = 0o600

// Options configure the API server.
type Options struct {
	Socket  string
	Version string
	Node    string
	PID     int
	Started time.Time
	// Pipeline and Outputs feed the status; Hub the streams.
	Pipeline       metrics.Pipeline
	Outputs        metrics.Outputs
	Hub            *Hub
	MetricsAddress string
	BPFStats       bool
	// Policies, when set, serves the policy endpoints (policy.go).
	Policies Policies
	// Modules, when set, serves GET /v1/modules (modules.go).
	Modules Modules
	// Listener, when set, is Socket bound beforehand with Bind: the
	// agent binds before it loads anything, and serves once it runs.
	Listener net.Listener
	Log      *slog.Logger
	// ReadGID, when above 0, is a group whose members may read (status,
	// streams, the policy list); only root may change anything.
	ReadGID int
}

// Server serves the API on its socket.
type Server struct {
	opts Options
	ln   net.Listener
	srv  *http.Server
	rate rate
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// Listen creates the socket (removing a stale one) and starts serving.
func Listen(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Hub == nil {
		opts.Hub = NewHub()
	}
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = listenUnix(opts.Socket, opts.ReadGID); err != nil {
			return nil, err
		}
	}
	s := &Server{opts: opts, ln: ln, stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.guard(readAccess, s.handleStatus))
	mux.HandleFunc("GET /v1/events", s.guard(readAccess, s.handleEvents))
	mux.HandleFunc("GET /v1/policies", s.guard(readAccess, s.policyHandler(s.listPolicies)))
	mux.HandleFunc("POST /v1/policies", s.guard(changeAccess, s.policyHandler(s.applyPolicies)))
	mux.HandleFunc("DELETE /v1/policies", s.guard(changeAccess, s.policyHandler(s.clearPolicies)))
	mux.HandleFunc("GET /v1/modules", s.guard(readAccess, s.handleModules))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ConnContext: peerContext,
		ErrorLog: slog.NewLogLogger(opts.Log.Handler(), slog.LevelWarn)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			opts.Log.Error("api server", "err", err)
		}
	}()
	if opts.Pipeline != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sampleRate(opts.Pipeline)
		}()
	}
	return s, nil
}

// Socket is the socket's path.
func (s *Server) Socket() string { return s.opts.Socket }

// Close ends the streams, stops serving and removes the socket.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		_ = s.opts.Hub.Close() // ends the stream handlers; it cannot fail
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = s.srv.Shutdown(ctx)
		s.wg.Wait()
		if rmErr := os.Remove(s.opts.Socket); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			err = errors.Join(err, rmErr)
		}
	})
	return err
}

func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.status())
}

// handleEvents streams matching events and alerts until the client goes
// away or the agent stops.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	filter, err := ParseStreamFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc := http.NewResponseController(w)
	sub := s.opts.Hub.subscribe(filter)
	defer s.opts.Hub.unsubscribe(sub)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush() // the client knows the stream is open; a gone client shows at the next write
	var reported uint64
	for {
		select {
		case line, ok := <-sub.lines:
			if !ok {
				return
			}
			if d := sub.dropped.Load(); d != reported {
				fmt.Fprintf(w, "{\"kind\":\"stream_dropped\",\"dropped\":%d}\n", d-reported)
				reported = d
			}
			if _, err := w.Write(line); err != nil {
				return
			}
			if len(sub.lines) == 0 {
				if rc.Flush() != nil {
					return
				}
			}
		case <-r.Context().Done():
			return
		}
	}
}

// Bind creates the socket (removing a stale one) without serving on it;
// Listen serves on it when given as Options.Listener. Closing it unserved
// leaves the file: remove it too. readGID is Options.ReadGID.
func Bind(socket string, readGID int) (net.Listener, error) { return listenUnix(socket, readGID) }

// listenUnix binds path with mode 0600 from the start (the mode is set on
// the socket before bind, so the file never exists with a wider one), in
// a directory it creates 0700 if missing. With a read group, the socket
// is then given to the group with mode 0660, and a directory it created
// 0750. A socket left by an agent that died is removed; one that still
// answers is refused.
func listenUnix(path string, readGID int) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("api: no socket path")
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("api: create %s: %w", dir, err)
		}
		if err := share(dir, readGID, 0o750); err != nil {
			return nil, err
		}
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("api: %s exists and is not a socket: remove it or choose another --socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			_ = c.Close() // only a probe
			return nil, fmt.Errorf("api: %w: another vigil agent is serving on %s: stop it first, or give this one another --socket", ErrInUse, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("api: remove stale socket: %w", err)
		}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("api: socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer func() { _ = f.Close() }() // FileListener dups it
	if err := unix.Fchmod(fd, uint32(SocketMode)); err != nil {
		return nil, fmt.Errorf("api: chmod socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			// another agent bound it between our check and now
			return nil, fmt.Errorf("api: %w: bind %s: %w", ErrInUse, path, err)
		}
		return nil, fmt.Errorf("api: bind %s: %w", path, err)
	}
	// in case the kernel applied the umask anyway
	if err := os.Chmod(path, SocketMode); err != nil {
		_ = os.Remove(path) // best effort: the error below is the one to report
		return nil, fmt.Errorf("api: chmod %s: %w", path, err)
	}
	if err := share(path, readGID, 0o660); err != nil {
		_ = os.Remove(path) // best effort: the error below is the one to report
		return nil, err
	}
	if err := unix.Listen(fd, 64); err != nil {
		_ = os.Remove(path) // best effort: the error below is the one to report
		return nil, fmt.Errorf("api: listen on %s: %w", path, err)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		_ = os.Remove(path) // best effort: the error below is the one to report
		return nil, fmt.Errorf("api: %w", err)
	}
	return ln, nil
}

// share gives a path the agent made (the socket, or the directory it
// created) to the read group with mode: 0660 for the socket before it
// listens, 0750 for the directory.
func share(path string, readGID int, mode os.FileMode) error {
	if readGID <= 0 {
		return nil
	}
	if err := os.Chown(path, -1, readGID); err != nil {
		return fmt.Errorf("api: give %s to group %d: %w", path, readGID, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("api: chmod %s: %w", path, err)
	}
	return nil
}
