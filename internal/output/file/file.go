// Package file is the file output: one event or alert per line, appended
// to a file readable by its owner only, rotated by size into numbered
// backups (gzip-compressed if asked), never splitting a line across files.
package file

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"

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
	// Compress gzips rotated files (path.1.gz, …).
	Compress bool
}

// Sink appends lines to the file. It is safe for concurrent use.
type Sink struct {
	opts Options
	mu   sync.Mutex
	enc  *output.Encoder
	f    *os.File
	w    *bufio.Writer
	size int64 // bytes in the file, buffered ones included
	// rotations counts completed rotations, for tests and status
	rotations uint64
}

// Open opens (or creates) the file for appending.
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
	s := &Sink{opts: opts, enc: output.NewEncoder(opts.Format)}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sink) open() error {
	f, err := os.OpenFile(s.opts.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, Mode)
	if err != nil {
		return fmt.Errorf("open output file: %w", err)
	}
	// an existing file keeps its mode on open: tighten it
	if err := f.Chmod(Mode); err != nil {
		f.Close()
		return fmt.Errorf("output file %s: chmod: %w", s.opts.Path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("output file %s: %w", s.opts.Path, err)
	}
	s.f, s.size = f, st.Size()
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, 64<<10)
	} else {
		s.w.Reset(f)
	}
	return nil
}

// Write appends ev as one line.
func (s *Sink) Write(ev *event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	line, err := s.enc.Event(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return s.writeLine(line)
}

// WriteAlert appends al as one line.
func (s *Sink) WriteAlert(al *event.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	line, err := s.enc.Alert(al)
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
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
// own.
func (s *Sink) writeLine(line []byte) error {
	if s.f == nil {
		return errors.New("output file is closed")
	}
	n := int64(len(line)) + 1
	if s.opts.MaxSize > 0 && s.size > 0 && s.size+n > s.opts.MaxSize {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("write %s: %w", s.opts.Path, err)
	}
	if err := s.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("write %s: %w", s.opts.Path, err)
	}
	s.size += n
	return nil
}

// Flush writes out what is buffered.
func (s *Sink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", s.opts.Path, err)
	}
	return nil
}

// Close flushes and closes the file.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.w.Flush()
	err = errors.Join(err, s.f.Close())
	s.f = nil
	return err
}

// Rotations is how many times the file was rotated.
func (s *Sink) Rotations() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotations
}
