package output

import (
	"bytes"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// Encoder renders events and alerts as single lines in one format, for
// sinks that frame lines themselves (files, syslog). Not safe for
// concurrent use.
type Encoder struct {
	format Format
	buf    bytes.Buffer // text lines
	line   []byte       // JSON lines
}

// NewEncoder renders in f.
func NewEncoder(f Format) *Encoder {
	return &Encoder{format: f}
}

// Event renders ev without a line end. The slice is valid until the next
// call.
func (e *Encoder) Event(ev *event.Event) ([]byte, error) {
	if e.format == FormatText {
		return e.text(Text(ev)), nil
	}
	return e.appendJSON(ev.AppendJSON)
}

// Alert renders al without a line end, like Event.
func (e *Encoder) Alert(al *event.Alert) ([]byte, error) {
	if e.format == FormatText {
		return e.text(AlertText(al)), nil
	}
	return e.appendJSON(al.AppendJSON)
}

// Drops renders a drops record without a line end, like Event.
func (e *Encoder) Drops(d *event.Drops) ([]byte, error) {
	if e.format == FormatText {
		return e.text(DropsText(d)), nil
	}
	return e.appendJSON(d.AppendJSON)
}

// appendJSON uses the event package's encoders, which reuse the cached
// encodings of processes instead of encoding/json's reflection.
func (e *Encoder) appendJSON(appendTo func([]byte) ([]byte, error)) ([]byte, error) {
	line, err := appendTo(e.line[:0])
	if err != nil {
		return nil, err
	}
	e.line = line
	return line, nil
}

// text keeps a line one line: a path may hold a newline.
func (e *Encoder) text(s string) []byte {
	e.buf.Reset()
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
	}
	e.buf.WriteString(s)
	return e.buf.Bytes()
}
