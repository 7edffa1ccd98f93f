// Package output writes events where people and tools read them. A Sink
// receives every event the pipeline passes on; formats turn an event into
// one line of JSON or of readable text.
package output

import (
	"bufio"
	"encoding/json"
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
	// Flush pushes buffered output out; the pipeline calls it when idle.
	Flush() error
	Close() error
}

// Format is how a line looks.
type Format string

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

// Stream writes one line per event to an io.Writer, buffered.
type Stream struct {
	buf    *bufio.Writer
	enc    *json.Encoder
	format Format
	line   []byte    // reused for each JSON line
	closer io.Closer // nil for writers the stream does not own
}

// NewStream writes to w; it does not close w.
func NewStream(w io.Writer, f Format) *Stream {
	buf := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return &Stream{buf: buf, enc: enc, format: f}
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
	if s.format == FormatText {
		_, err := s.buf.WriteString(Text(ev))
		if err == nil {
			err = s.buf.WriteByte('\n')
		}
		return err
	}
	// AppendJSON reuses the processes' cached encodings: several times
	// cheaper than encoding/json for the events that dominate the stream
	line, err := ev.AppendJSON(s.line[:0])
	if err != nil {
		return err
	}
	s.line = append(line, '\n')
	_, err = s.buf.Write(s.line)
	return err
}

// WriteAlert writes al as one line.
func (s *Stream) WriteAlert(al *event.Alert) error {
	if s.format == FormatText {
		_, err := s.buf.WriteString(AlertText(al))
		if err == nil {
			err = s.buf.WriteByte('\n')
		}
		return err
	}
	return s.enc.Encode(al)
}

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
