// Package webhook is the HTTP output: JSON POSTs in batches, retried with
// exponential backoff and jitter until the server takes them, over TLS
// with a bearer or basic Authorization header if configured.
//
// Two payloads: "vigil" posts a JSON array of events and alerts as the
// schema in docs/events.md describes them; "falco" posts each alert alone
// in the shape Falco's http_output sends, so that falcosidekick (and every
// integration behind it) takes vigil's alerts unchanged.
//
// The sink blocks while it retries: it is meant to sit behind the
// fan-out's bounded queue, which drops (and counts) what does not fit.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// Payload is the body's shape.
type Payload string

// The body shapes: vigil's own, or Falco's.
const (
	PayloadVigil Payload = "vigil"
	PayloadFalco Payload = "falco"
)

// DefaultMaxRetryAfter is the longest a Retry-After makes a retry wait
// unless configured.
const DefaultMaxRetryAfter = 5 * time.Minute

// Options configure a webhook.
type Options struct {
	URL     string
	Payload Payload
	// BatchSize is the most items per POST (vigil payload); 100 when 0.
	// The falco payload always posts one alert per request.
	BatchSize int
	// Timeout bounds one request; 10s when 0.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries, which
	// doubles from the one to the other, with jitter; 200ms and 30s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter caps how long a server's Retry-After may make a retry
	// wait; 5m when 0. A Retry-After up to it is honoured even when it is
	// longer than MaxBackoff.
	MaxRetryAfter time.Duration
	// MaxRetries gives up on a batch after this many failed retries and
	// drops it (counted); 0 retries until the server takes it or the
	// agent stops.
	MaxRetries int
	// Headers are added to every request.
	Headers map[string]string
	// BearerToken, or Username and Password, set the Authorization header.
	BearerToken string
	Username    string
	Password    string
	TLS         TLSOptions
	// Hostname is the falco payload's hostname field.
	Hostname string
	// UserAgent names the agent; "vigil" when empty.
	UserAgent string
}

// Sink batches and posts. Write, WriteAlert and Flush are for one
// goroutine; Report and Interrupt may be called from others.
type Sink struct {
	opts   Options
	client *http.Client
	batch  []json.RawMessage

	// ctx ends when Interrupt is called: waits and requests give up.
	ctx       context.Context
	interrupt context.CancelFunc

	delivered atomic.Uint64
	dropped   atomic.Uint64
	retries   atomic.Uint64
	mu        sync.Mutex // guards the fields below
	lastErr   string
	lastErrAt time.Time
	lastOK    time.Time
}

// New checks the options and builds the client. It sends nothing.
func New(opts Options) (*Sink, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook url %q: %w", opts.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("webhook url %q: want an http:// or https:// url", opts.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("webhook url %q: missing host", opts.URL)
	}
	switch opts.Payload {
	case "":
		opts.Payload = PayloadVigil
	case PayloadVigil, PayloadFalco:
	default:
		return nil, fmt.Errorf("webhook payload %q: want vigil or falco", opts.Payload)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Payload == PayloadFalco {
		opts.BatchSize = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if opts.BearerToken != "" && opts.Username != "" {
		return nil, errors.New("webhook: set a bearer token or a username, not both")
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "vigil"
	}
	tlsConf, err := opts.TLS.config()
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConf
	transport.Proxy = nil // a security agent does not take its route from the environment
	s := &Sink{opts: opts, client: &http.Client{Transport: transport, Timeout: opts.Timeout}}
	s.ctx, s.interrupt = context.WithCancel(context.Background())
	return s, nil
}

// Write adds ev to the batch. The falco payload carries alerts only.
func (s *Sink) Write(ev *event.Event) error {
	if s.opts.Payload == PayloadFalco {
		s.dropped.Add(1)
		return errors.New("webhook: the falco payload carries alerts only; filter events out of this output")
	}
	return s.add(ev)
}

// WriteAlert adds al to the batch.
func (s *Sink) WriteAlert(al *event.Alert) error {
	if s.opts.Payload == PayloadFalco {
		return s.add(falcoAlert(al, s.opts.Hostname))
	}
	return s.add(al)
}

// WriteDrops adds d to the batch; the falco payload turns it into a
// notice in the shape of an alert (falcoDrops).
func (s *Sink) WriteDrops(d *event.Drops) error {
	if s.opts.Payload == PayloadFalco {
		return s.add(falcoDrops(d, s.opts.Hostname))
	}
	return s.add(d)
}

// add encodes v into the batch and sends the batch once it is full.
func (s *Sink) add(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		s.dropped.Add(1)
		return fmt.Errorf("webhook: encode: %w", err)
	}
	s.batch = append(s.batch, raw)
	if len(s.batch) >= s.opts.BatchSize {
		return s.Flush()
	}
	return nil
}

// Flush posts what is batched, retrying until it is taken, the retries
// run out or the sink is interrupted.
func (s *Sink) Flush() error {
	if len(s.batch) == 0 {
		return nil
	}
	body := s.batch[0]
	if s.opts.Payload == PayloadVigil {
		body = joinArray(s.batch)
	}
	n := uint64(len(s.batch))
	clear(s.batch)
	s.batch = s.batch[:0]
	if err := s.deliver(body); err != nil {
		s.dropped.Add(n)
		return err
	}
	s.delivered.Add(n)
	return nil
}

// Close posts what is left.
func (s *Sink) Close() error {
	err := s.Flush()
	s.client.CloseIdleConnections()
	return err
}

// Interrupt makes a waiting Flush give up; what is batched or still to
// come is dropped and counted.
func (s *Sink) Interrupt() { s.interrupt() }

// Report says what was delivered, dropped and retried, and the last error.
func (s *Sink) Report() output.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return output.Report{
		Delivered:     s.delivered.Load(),
		Dropped:       s.dropped.Load(),
		Retries:       s.retries.Load(),
		LastError:     s.lastErr,
		LastErrorTime: s.lastErrAt,
		LastSuccess:   s.lastOK,
	}
}

func joinArray(items []json.RawMessage) []byte {
	size := 2
	for _, it := range items {
		size += len(it) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, ']')
}
