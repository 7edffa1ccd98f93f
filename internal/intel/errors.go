package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Failure reasons: a refused refresh is counted under one of these
// (vigil_intel_refreshes_total's result label).
const (
	ReasonUnreachable = "unreachable" // connection, DNS, TLS, timeout
	ReasonHTTP        = "http_status" // an answer other than 200 or 304
	ReasonMalformed   = "malformed"   // the content does not parse
	ReasonTruncated   = "truncated"   // shorter than announced, or JSON cut short
	ReasonGrowth      = "growth"      // more than MaxGrowth times the last good set
	ReasonTooMany     = "too_many"    // more indicators than the source may hold
	ReasonConfig      = "config"      // the source cannot run: no key, bad CA file
)

// RefreshError is why a refresh was refused; the source keeps its last
// good set. Where says the position: a file and line, a JSON offset, a
// MISP event uuid.
type RefreshError struct {
	Source string
	Reason string
	Where  string
	Err    error
}

func (e *RefreshError) Error() string {
	if e.Where != "" {
		return fmt.Sprintf("intel source %s: %s: %v", e.Source, e.Where, e.Err)
	}
	return fmt.Sprintf("intel source %s: %v", e.Source, e.Err)
}

func (e *RefreshError) Unwrap() error { return e.Err }

// fail makes a RefreshError, keeping the reason and position of one
// already made below.
func fail(source, reason, where string, err error) error {
	var re *RefreshError
	if errors.As(err, &re) {
		if re.Source == "" {
			re.Source = source
		}
		return re
	}
	return &RefreshError{Source: source, Reason: reason, Where: where, Err: err}
}

// reasonOf is the reason an error is counted under.
func reasonOf(err error) string {
	var re *RefreshError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ReasonMalformed
}

// jsonError says where JSON went wrong: the byte offset and line, and
// whether it was cut short (truncated) or wrong (malformed).
func jsonError(raw []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &syn) && syn.Offset >= int64(len(raw)) && len(raw) > 0):
		return &RefreshError{Reason: ReasonTruncated, Where: fmt.Sprintf("JSON offset %d", len(raw)), Err: fmt.Errorf("JSON ends early: %w", err)}
	case errors.As(err, &syn):
		return &RefreshError{Reason: ReasonMalformed, Where: position(raw, syn.Offset), Err: err}
	case errors.As(err, &typ):
		return &RefreshError{Reason: ReasonMalformed, Where: position(raw, typ.Offset), Err: err}
	}
	return &RefreshError{Reason: ReasonMalformed, Err: err}
}

// position names a byte offset in raw with its line.
func position(raw []byte, off int64) string {
	if off > int64(len(raw)) {
		off = int64(len(raw))
	}
	line := 1 + bytes.Count(raw[:off], []byte("\n"))
	return fmt.Sprintf("JSON offset %d (line %d)", off, line)
}
