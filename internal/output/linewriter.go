package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// RecoveredError is what a sink returns when something failed and the sink
// kept going: the item passed to the call that returned it (if any) was
// taken, and Lost items it had taken before were lost with the failure —
// buffered lines a failed write took with it. Lost is 0 when the failure
// lost nothing (a rotation that failed: the line went to the current
// file). The fan-out counts Lost as dropped by the sink and the error as
// an error.
type RecoveredError struct {
	Lost int
	Err  error
}

func (e *RecoveredError) Error() string {
	if e.Lost == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (%d lines lost)", e.Err, e.Lost)
}

func (e *RecoveredError) Unwrap() error { return e.Err }

// JoinRecovered combines the errors of one call; the losses add up. The
// result is a *RecoveredError unless one of errs is not: then it is a join
// of a *RecoveredError (if any) and the others, and the item of the call
// is not taken.
func JoinRecovered(errs ...error) error {
	var (
		lost  int
		rec   []error
		plain []error
	)
	for _, err := range errs {
		var r *RecoveredError
		switch {
		case err == nil:
		case errors.As(err, &r):
			lost += r.Lost
			rec = append(rec, r.Err)
		default:
			plain = append(plain, err)
		}
	}
	var out error
	switch len(rec) {
	case 0:
	case 1:
		out = &RecoveredError{Lost: lost, Err: rec[0]}
	default:
		out = &RecoveredError{Lost: lost, Err: errors.Join(rec...)}
	}
	if len(plain) == 0 {
		return out
	}
	return errors.Join(append([]error{out}, plain...)...)
}

// LineWriter buffers whole lines for a writer and keeps working after the
// writer fails. bufio.Writer keeps its first error forever, so one full
// disk would end an output until restart; a LineWriter drops what the
// failed write held, says how many lines that was (a *RecoveredError), and
// starts afresh. Not safe for concurrent use.
type LineWriter struct {
	w     io.Writer
	buf   []byte
	size  int
	lines int // whole lines in buf
	// lead says buf starts with a line end that closes a torn fragment
	lead bool
	// torn counts the bytes of a line's beginning that reached the writer
	// before it failed. The next write starts with a line end, so that
	// the lines after the fragment stay whole; a file can truncate the
	// fragment away instead (Torn, Untear).
	torn int
}

// NewLineWriter buffers up to size bytes (64 KiB when 0) for w.
func NewLineWriter(w io.Writer, size int) *LineWriter {
	if size <= 0 {
		size = 64 << 10
	}
	return &LineWriter{w: w, size: size, buf: make([]byte, 0, size)}
}

// WriteLine buffers line and a line end, writing the buffer out once it
// is full. An error is a *RecoveredError: line itself was taken.
func (b *LineWriter) WriteLine(line []byte) error {
	if b.torn > 0 && len(b.buf) == 0 {
		b.buf = append(b.buf, '\n')
		b.lead = true
	}
	b.buf = append(b.buf, line...)
	b.buf = append(b.buf, '\n')
	b.lines++
	if len(b.buf) >= b.size {
		return b.Flush()
	}
	return nil
}

// Buffered is how many bytes wait to be written.
func (b *LineWriter) Buffered() int { return len(b.buf) }

// Flush writes the buffer out. When the writer fails, what it did not
// take is dropped, and the error (a *RecoveredError) says how many lines
// were lost; the next write tries again.
func (b *LineWriter) Flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	n, err := b.w.Write(b.buf)
	if err == nil && n < len(b.buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		b.reset()
		b.torn = 0
		return nil
	}
	n = max(0, min(n, len(b.buf)))
	lost := b.lines
	if n > 0 {
		written := b.buf[:n]
		whole := bytes.Count(written, []byte{'\n'})
		if b.lead {
			whole-- // the line end that closed the previous fragment
		}
		lost -= whole
		b.torn = n - (bytes.LastIndexByte(written, '\n') + 1)
	}
	b.reset()
	return &RecoveredError{Lost: lost, Err: err}
}

// Torn is how many bytes of a torn line the writer holds at its end.
func (b *LineWriter) Torn() int { return b.torn }

// Untear says the writer no longer ends with a torn fragment (a file that
// truncated it away).
func (b *LineWriter) Untear() { b.torn = 0 }

// Reset drops what is buffered and writes to w from now on; it returns
// how many lines were dropped.
func (b *LineWriter) Reset(w io.Writer) int {
	n := b.lines
	b.w = w
	b.reset()
	b.torn = 0
	return n
}

func (b *LineWriter) reset() {
	b.buf = b.buf[:0]
	b.lines = 0
	b.lead = false
}
