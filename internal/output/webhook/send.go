package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// statusError is a response that was not 2xx.
type statusError struct {
	code       int
	body       string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

// retryable: the server may take the same request later. Other 4xx
// answers mean it never will (bad payload, wrong credentials), so the
// batch is dropped rather than retried forever.
func retryable(err error) bool {
	var se *statusError
	if !errors.As(err, &se) {
		return true // network errors, timeouts
	}
	return se.code >= 500 || se.code == http.StatusTooManyRequests || se.code == http.StatusRequestTimeout
}

// deliver posts body until it is taken, retrying with exponential backoff
// and jitter.
func (s *Sink) deliver(body []byte) error {
	for attempt := 0; ; attempt++ {
		err := s.post(body)
		if err == nil {
			s.mu.Lock()
			s.lastOK = time.Now()
			s.mu.Unlock()
			return nil
		}
		err = fmt.Errorf("webhook %s: %w", s.opts.URL, err)
		s.noteError(err)
		if !retryable(err) {
			return err
		}
		if s.opts.MaxRetries > 0 && attempt >= s.opts.MaxRetries {
			return fmt.Errorf("%w (gave up after %d retries)", err, attempt)
		}
		if s.ctx.Err() != nil {
			return fmt.Errorf("%w (interrupted at shutdown)", err)
		}
		s.retries.Add(1)
		t := time.NewTimer(s.retryWait(attempt, err))
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (interrupted at shutdown)", err)
		}
	}
}

// retryWait is how long to wait before retrying after err: the backoff,
// or the server's Retry-After when that is longer, up to MaxRetryAfter.
func (s *Sink) retryWait(attempt int, err error) time.Duration {
	wait := s.backoff(attempt)
	var se *statusError
	if errors.As(err, &se) && se.retryAfter > wait {
		wait = min(se.retryAfter, s.opts.MaxRetryAfter)
	}
	return wait
}

// backoff doubles from MinBackoff up to MaxBackoff; the wait is drawn
// from the upper half of that, so that agents restarted together do not
// retry in step.
func (s *Sink) backoff(attempt int) time.Duration {
	d := s.opts.MaxBackoff
	if attempt < 32 {
		d = min(s.opts.MinBackoff<<attempt, s.opts.MaxBackoff)
	}
	half := d / 2
	return half + rand.N(half+1)
}

func (s *Sink) post(body []byte) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.opts.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	for k, v := range s.opts.Headers {
		req.Header.Set(k, v)
	}
	switch {
	case s.opts.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+s.opts.BearerToken)
	case s.opts.Username != "":
		req.SetBasicAuth(s.opts.Username, s.opts.Password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // read-only
	// read a little of the answer for the error, and drain the rest so
	// that the connection is reused
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &statusError{
		code:       resp.StatusCode,
		body:       string(bytes.TrimSpace(snippet)),
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// parseRetryAfter reads Retry-After: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(min(max(n, 0), 1<<30)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (s *Sink) noteError(err error) {
	s.mu.Lock()
	s.lastErr, s.lastErrAt = err.Error(), time.Now()
	s.mu.Unlock()
}
