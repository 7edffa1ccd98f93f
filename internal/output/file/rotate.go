package file

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/output"
)

// Pauses between rotation attempts after failures: the first retry waits
// retryFirst, each later one twice as long, up to retryMax. Until then the
// lines go to the current file, which grows past MaxSize.
const (
	retryFirst = time.Second
	retryMax   = time.Minute
)

// rotate shifts the backups up by one (dropping the oldest), moves the
// file to path.1, opens a fresh file and queues path.1 for compression if
// asked. It runs between two lines, with the lock held. The file stays
// open until the fresh one is, so that when anything fails the lines keep
// going to it: the error is then an output.RecoveredError, the failure is
// counted, and the next attempt waits (retryFirst doubling up to retryMax).
func (s *Sink) rotate() error {
	var flushErr error
	if err := s.lw.Flush(); err != nil {
		flushErr = s.recover(err) // lost lines are counted; the rotation goes on
	}
	if s.opts.MaxBackups == 0 {
		// no backups to keep: the file starts over in place, so a
		// failure leaves the lines going to the file, never to a deleted
		// one (appends follow the truncation)
		if err := s.f.Truncate(0); err != nil {
			return output.JoinRecovered(flushErr, s.rotateFailed(err))
		}
		s.size = 0
		s.rotations++
		s.rotateFailStreak = 0
		s.retryAt = time.Time{}
		return flushErr
	}
	if !s.moved {
		if err := s.shiftBackups(); err != nil {
			return output.JoinRecovered(flushErr, s.rotateFailed(err))
		}
		// the open file is path.1 now
		s.moved = true
	}
	old := s.f
	if err := s.open(); err != nil {
		// keep writing to the file, now path.1, until a new one can be made
		s.f = old
		return output.JoinRecovered(flushErr, s.rotateFailed(err))
	}
	s.moved = false
	if err := old.Close(); err != nil {
		// flushed already: reported, but no line is lost
		flushErr = output.JoinRecovered(flushErr, &output.RecoveredError{Err: fmt.Errorf("close %s: %w", s.backup(1, false), err)})
	}
	s.rotations++
	s.rotateFailStreak = 0
	s.retryAt = time.Time{}
	s.gz.add(1)
	return flushErr
}

// rotateFailed counts a failed rotation and sets when to try again.
func (s *Sink) rotateFailed(err error) error {
	s.rotateFailures++
	pause := retryMax
	if s.rotateFailStreak < 8 {
		pause = min(retryFirst<<s.rotateFailStreak, retryMax)
	}
	s.rotateFailStreak++
	s.retryAt = s.now().Add(pause)
	where := s.opts.Path
	if s.moved {
		where = s.backup(1, false)
	}
	return &output.RecoveredError{Err: fmt.Errorf("rotate %s: %w (still writing to %s; next try in %s)",
		s.opts.Path, err, where, pause)}
}

// backup names the i-th backup: path.i or path.i.gz.
func (s *Sink) backup(i int, gz bool) string {
	name := s.opts.Path + "." + strconv.Itoa(i)
	if gz {
		name += ".gz"
	}
	return name
}

// shiftBackups makes room for path.1 and moves the file there. Both the
// plain and the compressed name are handled, so that turning compression
// on or off keeps counting the older backups; compressions queued or
// under way follow their files. A failure part way leaves every file
// under a backup name or the file's, none lost but the oldest.
func (s *Sink) shiftBackups() error {
	keep := s.opts.MaxBackups
	for _, gz := range []bool{false, true} {
		if err := removeIfExists(s.backup(keep, gz)); err != nil {
			return err
		}
	}
	s.gz.moved(keep, keep+1) // gone
	// only the backups that exist move: counting up to the first gap
	// keeps a large MaxBackups cheap
	top := 1
	for top < keep && (exists(s.backup(top, false)) || exists(s.backup(top, true))) {
		top++
	}
	for i := top - 1; i >= 1; i-- {
		for _, gz := range []bool{false, true} {
			err := os.Rename(s.backup(i, gz), s.backup(i+1, gz))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		s.gz.moved(i, i+1)
	}
	return os.Rename(s.opts.Path, s.backup(1, false))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
