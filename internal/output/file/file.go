// Package file is the file output: one event or alert per line, appended
// to a file readable by its owner only, rotated by size into numbered
// backups (gzip-compressed in the background if asked), never splitting a
// line across files.
//
// Failures do not stop it. A write that fails (a full disk) loses what was
// buffered, says how many lines (output.RecoveredError), and the next
// write tries again; a line torn by a partial write is cut off the file. A
// rotation that fails keeps writing to the current file and is retried
// later, with a growing pause; a compression that fails leaves the backup
// uncompressed. Each failure is counted and reported.
package file

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// Mode is the permission of the file and its backups: events name users,
// commands and files.
const Mode os.FileMode = 0o600

// Options configure a file output.
type Options struct {
	Path   string
	Format output.Format
	// MaxSize rotates the file before a line would take it past this many
	// bytes; 0 never rotates.
	MaxSize int64
	// MaxBackups is how many rotated files are kept (path.1 is the
	// newest); older ones are removed.
	MaxBackups int
	// Compress gzips rotated files (path.1.gz, …), in the background.
	Compress bool

	// hooks are for tests: a writer in front of the file, a clock, a
	// pause before each compression.
	hooks *hooks
}

type hooks struct {
	wrap           func(*os.File) io.Writer
	now            func() time.Time
	beforeCompress func(index int)
}

// Sink appends lines to the file. It is safe for concurrent use.
type Sink struct {
	opts Options
	mu   sync.Mutex
	enc  *output.Encoder
	f    *os.File
	lw   *output.LineWriter
	size int64 // bytes in the file, buffered ones included
	now  func() time.Time
	// moved says the open file was renamed to path.1 by a rotation that
	// then could not create a new file: the next rotation only creates it
	moved bool
	// rotations counts completed rotations; rotateFailures failed ones,
	// consecutive in rotateFailStreak, the next try not before retryAt
	rotations        uint64
	rotateFailures   uint64
	rotateFailStreak int
	retryAt          time.Time
	gz               *compressor // nil without Compress
}

// Open opens (or creates) the file for appending. With Compress, backups
// left uncompressed by an earlier run are compressed in the background.
func Open(opts Options) (*Sink, error) {
	if opts.Path == "" {
		return nil, errors.New("file output: no path")
	}
	if opts.MaxSize < 0 || opts.MaxBackups < 0 {
		return nil, errors.New("file output: max size and max backups cannot be negative")
	}
	if opts.Format == "" {
		opts.Format = output.FormatJSON
	}
	if opts.hooks == nil {
		opts.hooks = &hooks{}
	}
	s := &Sink{opts: opts, enc: output.NewEncoder(opts.Format), now: time.Now}
	if opts.hooks.now != nil {
		s.now = opts.hooks.now
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	if opts.Compress && opts.MaxBackups > 0 {
		s.gz = newCompressor(s)
		s.gz.resume()
	}
	return s, nil
}

// open opens path as the current file.
func (s *Sink) open() error {
	f, err := os.OpenFile(s.opts.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, Mode)
	if err != nil {
		return fmt.Errorf("open output file: %w", err)
	}
	// an existing file keeps its mode on open: tighten it
	if err := f.Chmod(Mode); err != nil {
		_ = f.Close() // nothing written yet
		return fmt.Errorf("output file %s: chmod: %w", s.opts.Path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close() // nothing written yet
		return fmt.Errorf("output file %s: %w", s.opts.Path, err)
	}
	var w io.Writer = f
	if s.opts.hooks.wrap != nil {
		w = s.opts.hooks.wrap(f)
	}
	s.f, s.size = f, st.Size()
	if s.lw == nil {
		s.lw = output.NewLineWriter(w, 64<<10)
	} else {
		s.lw.Reset(w)
	}
	return nil
}

// Write appends ev as one line.
func (s *Sink) Write(ev *event.Event) error {
	return s.encodeLine("event", func(enc *output.Encoder) ([]byte, error) { return enc.Event(ev) })
}

// WriteAlert appends al as one line.
func (s *Sink) WriteAlert(al *event.Alert) error {
	return s.encodeLine("alert", func(enc *output.Encoder) ([]byte, error) { return enc.Alert(al) })
}

// WriteDrops appends d as one line.
func (s *Sink) WriteDrops(d *event.Drops) error {
	return s.encodeLine("drops record", func(enc *output.Encoder) ([]byte, error) { return enc.Drops(d) })
}

// encodeLine encodes what (an "event", an "alert") with the sink's
// encoder and appends the line, both under the lock.
func (s *Sink) encodeLine(what string, encode func(*output.Encoder) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	line, err := encode(s.enc)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	return s.writeLine(line)
}

// WriteLine appends one line (without its line end); for tests and tools
// that render lines themselves.
func (s *Sink) WriteLine(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLine(line)
}

// writeLine rotates first when the line would not fit, so that a line is
// always whole in one file. A line longer than MaxSize gets a file of its
// own. Whatever goes wrong on the way, the line is written (to the
// current file if it could not be rotated); the error is then an
// output.RecoveredError.
func (s *Sink) writeLine(line []byte) error {
	if s.f == nil {
		return errors.New("output file is closed")
	}
	n := int64(len(line)) + 1
	var rotErr error
	if s.opts.MaxSize > 0 && s.size > 0 && s.size+n > s.opts.MaxSize && !s.now().Before(s.retryAt) {
		rotErr = s.rotate()
	}
	s.size += n
	err := s.lw.WriteLine(line)
	if err != nil {
		err = s.recover(err)
	}
	return output.JoinRecovered(rotErr, err, s.gz.takeError())
}

// recover follows a failed write: a torn line is cut off the file, and
// the size is what the file holds. err is the LineWriter's.
func (s *Sink) recover(err error) error {
	err = fmt.Errorf("write %s: %w", s.opts.Path, err)
	st, statErr := s.f.Stat()
	if statErr != nil {
		return err
	}
	size := st.Size()
	if torn := int64(s.lw.Torn()); torn > 0 && torn <= size {
		if s.f.Truncate(size-torn) == nil {
			s.lw.Untear()
			size -= torn
		}
	}
	s.size = size + int64(s.lw.Buffered())
	return err
}

// Flush writes out what is buffered.
func (s *Sink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	var err error
	if err = s.lw.Flush(); err != nil {
		err = s.recover(err)
	}
	return output.JoinRecovered(err, s.gz.takeError())
}

// Close flushes and closes the file. A compression under way is stopped:
// its backup stays uncompressed until the next Open compresses it.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.f == nil {
		s.mu.Unlock()
		return nil
	}
	var err error
	if err = s.lw.Flush(); err != nil {
		err = s.recover(err)
	}
	err = errors.Join(err, s.f.Close())
	s.f = nil
	s.mu.Unlock()
	s.gz.stop()
	return err
}

// Rotations is how many times the file was rotated.
func (s *Sink) Rotations() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotations
}

// RotationFailures is how many rotations failed (the file was kept).
func (s *Sink) RotationFailures() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotateFailures
}

// Reopen writes what is buffered to the open file, then opens the path
// again: after logrotate (or anyone) renamed the file, lines go to a new
// file at the path. The rename is not ours, so the rotation counters do
// not move. When the path cannot be opened, the sink keeps writing to the
// file it had and says why.
func (s *Sink) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("output file is closed")
	}
	var err error
	if err = s.lw.Flush(); err != nil {
		err = s.recover(err)
	}
	old := s.f
	if openErr := s.open(); openErr != nil {
		return errors.Join(err, openErr)
	}
	return errors.Join(err, old.Close())
}
