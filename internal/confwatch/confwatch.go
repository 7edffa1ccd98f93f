// Package confwatch tells when the files below some paths may have
// changed, within a bounded time, including the way the kubelet updates a
// ConfigMap volume: it writes the new files into a fresh hidden directory
// (..2026_12_07_08_00_00.123), points a new symlink ..data_tmp at it and
// renames that over ..data, so that every visible name (rules.yaml ->
// ..data/rules.yaml) changes at once. No visible file is written: only a
// rename in the volume's directory says so.
//
// A Watcher watches each directory given (a file's parent directory) with
// inotify for names created, moved, deleted or written and closed, waits
// for a quiet moment (Debounce) so that one update gives one signal, and
// also signals every Poll interval, a backstop for what inotify cannot see
// (a path that did not exist at start, a directory replaced as a whole).
// It only says "look again": callers compare what they read with what
// they have (Fingerprint) and act on a real change.
package confwatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults: a ConfigMap update is seen within about a second of the
// kubelet's rename, and anything inotify misses within 30 s.
const (
	DefaultDebounce = 500 * time.Millisecond
	DefaultPoll     = 30 * time.Second
)

const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
	unix.IN_CLOSE_WRITE | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// Watcher watches directories. Run delivers its signals.
type Watcher struct {
	Debounce time.Duration
	Poll     time.Duration

	f    *os.File // the inotify descriptor, read through the runtime's poller
	dirs []string
	mu   sync.Mutex // guards f's watches against Close
}

// New watches paths: a directory itself, a file through its parent
// directory. A path that does not exist yet is watched through the
// nearest parent that does, and the Poll backstop covers it.
func New(paths []string) (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &Watcher{Debounce: DefaultDebounce, Poll: DefaultPoll, f: os.NewFile(uintptr(fd), "inotify")}
	seen := map[string]bool{}
	for _, p := range paths {
		dir := watchDir(p)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		w.dirs = append(w.dirs, dir)
	}
	if err := w.addWatches(); err != nil {
		_ = w.f.Close() // the watch error is the one to report
		return nil, err
	}
	return w, nil
}

// watchDir is the directory to watch for path.
func watchDir(path string) string {
	p := filepath.Clean(path)
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return p
	}
	for {
		parent := filepath.Dir(p)
		if st, err := os.Stat(parent); (err == nil && st.IsDir()) || parent == p {
			return parent
		}
		p = parent
	}
}

// addWatches (re)adds a watch on every directory: one that was replaced
// gets a watch on its new inode.
func (w *Watcher) addWatches() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	sc, err := w.f.SyscallConn()
	if err != nil {
		return err
	}
	var errs []error
	ctlErr := sc.Control(func(fd uintptr) {
		for _, d := range w.dirs {
			if _, err := unix.InotifyAddWatch(int(fd), d, mask); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("watch %s: %w", d, err))
			}
		}
	})
	return errors.Join(ctlErr, errors.Join(errs...))
}

// Dirs are the directories watched.
func (w *Watcher) Dirs() []string { return w.dirs }

// Run calls changed (on Run's goroutine, one call at a time) a Debounce
// after the last of a burst of changes in a watched directory, and every
// Poll, until ctx ends; then it closes the watcher.
func (w *Watcher) Run(ctx context.Context, changed func()) {
	events := make(chan struct{}, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 64<<10)
		for {
			if _, err := w.f.Read(buf); err != nil {
				if errors.Is(err, os.ErrClosed) {
					return
				}
				// an overflow or a failed read: look again anyway
			}
			select {
			case events <- struct{}{}:
			default:
			}
		}
	}()
	defer func() {
		_ = w.f.Close() // ends the reader's Read
		<-readDone
	}()
	poll := time.NewTicker(w.Poll)
	defer poll.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-events:
			debounce.Reset(w.Debounce)
		case <-debounce.C:
			_ = w.addWatches() // a replaced directory; failures are seen at the next poll
			changed()
		case <-poll.C:
			_ = w.addWatches()
			changed()
		}
	}
}

// Fingerprint is a digest of named contents, in the order given: equal
// fingerprints mean nothing a reader would see has changed.
func Fingerprint(names []string, contents [][]byte) string {
	h := sha256.New()
	for i, n := range names {
		_, _ = fmt.Fprintf(h, "%d:%s:%d:", len(n), n, len(contents[i])) // a hash takes every write
		h.Write(contents[i])
	}
	return hex.EncodeToString(h.Sum(nil))
}
