package rule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/event"
)

// EventReader reads events written as JSON lines (vigil run --format json,
// vigil record). Alert lines are skipped and counted, so a mixed stream
// (--events all) replays too.
type EventReader struct {
	r    *bufio.Reader
	name string
	line int
	// Alerts counts alert lines skipped; Malformed lines that did not
	// decode (each also returned as a *LineError).
	Alerts    uint64
	Malformed uint64
}

// LineError is a line that is not an event.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// NewEventReader reads from r; name is shown in errors.
func NewEventReader(r io.Reader, name string) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 64<<10), name: name}
}

// Next returns the next event, io.EOF at the end, or a *LineError for a
// line that does not decode (reading may go on after it).
func (er *EventReader) Next() (*event.Event, error) {
	for {
		raw, err := er.r.ReadBytes('\n')
		if len(raw) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("read %s: %w", er.name, err)
		}
		er.line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		ev := &event.Event{}
		if err := json.Unmarshal(raw, ev); err != nil {
			er.Malformed++
			return nil, &LineError{File: er.name, Line: er.line, Err: err}
		}
		if ev.Kind == event.KindAlert {
			er.Alerts++
			continue
		}
		if ev.Kind == "" || ev.Process == nil {
			er.Malformed++
			return nil, &LineError{File: er.name, Line: er.line, Err: errors.New("not an event: no kind or no process")}
		}
		return ev, nil
	}
}
