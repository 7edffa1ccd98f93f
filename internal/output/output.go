// Package output writes events where people and tools read them. A Sink
// receives every event the pipeline passes on; formats turn an event into
// one line of JSON or of readable text.
package output

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigil-sec/vigil/internal/event"
)

// Sink receives events and alerts. A sink may keep them past the call, but
// only for reading: they are immutable once written.
type Sink interface {
	Write(ev *event.Event) error
	WriteAlert(al *event.Alert) error
	// WriteDrops reports what the agent lost (docs/events.md, "drops
	// records"); every output receives it, whatever its filter.
	WriteDrops(d *event.Drops) error
	// Flush pushes buffered output out; the pipeline calls it when idle.
	Flush() error
	Close() error
}

// Format is how a line looks.
type Format string

// The line formats.
const (
	FormatJSON Format = "json"
	FormatText Format = "text"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatJSON, FormatText:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want json or text", s)
}

// Stream writes one line per event to an io.Writer, buffered. A failed
// write loses what was buffered (counted: a *RecoveredError) and the
// stream keeps going.
type Stream struct {
	buf    *LineWriter
	enc    *Encoder
	closer io.Closer // nil for writers the stream does not own
}

// NewStream writes to w; it does not close w.
func NewStream(w io.Writer, f Format) *Stream {
	return &Stream{buf: NewLineWriter(w, 64<<10), enc: NewEncoder(f)}
}

// OpenFile appends to path, creating it readable by its owner only (events
// name users, commands and files).
func OpenFile(path string, f Format) (*Stream, error) {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open output file: %w", err)
	}
	s := NewStream(file, f)
	s.closer = file
	return s, nil
}

// Write writes ev as one line.
func (s *Stream) Write(ev *event.Event) error {
	line, err := s.enc.Event(ev)
	if err != nil {
		return err
	}
	return s.writeLine(line)
}

// WriteAlert writes al as one line.
func (s *Stream) WriteAlert(al *event.Alert) error {
	line, err := s.enc.Alert(al)
	if err != nil {
		return err
	}
	return s.writeLine(line)
}

// WriteDrops writes d as one line.
func (s *Stream) WriteDrops(d *event.Drops) error {
	line, err := s.enc.Drops(d)
	if err != nil {
		return err
	}
	return s.writeLine(line)
}

func (s *Stream) writeLine(line []byte) error { return s.buf.WriteLine(line) }

// Flush writes out what is buffered.
func (s *Stream) Flush() error { return s.buf.Flush() }

// Close flushes and closes what the stream owns.
func (s *Stream) Close() error {
	err := s.buf.Flush()
	if s.closer != nil {
		err = errors.Join(err, s.closer.Close())
	}
	return err
}
