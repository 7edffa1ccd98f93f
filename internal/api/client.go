package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"

	"github.com/vigil-sec/vigil/internal/event"
)

// Client talks to a running agent over its socket.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient connects to the agent serving on socket (no I/O yet).
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
	}
	return &Client{socket: socket, http: &http.Client{Transport: tr}}
}

// Status asks for the agent's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	resp, err := c.get(ctx, "/v1/status")
	if err != nil {
		return st, err
	}
	defer func() { _ = resp.Body.Close() }() // read-only
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("read status from %s: %w", c.socket, err)
	}
	return st, nil
}

// Item is one line of a stream: an event, an alert, or a notice that the
// agent dropped lines because this reader was slow.
type Item struct {
	Event *event.Event
	Alert *event.Alert
	// Drops is a drops record: what the agent lost (docs/events.md).
	Drops   *event.Drops
	Dropped uint64
	// Raw is the line as the agent sent it, without its line end.
	Raw []byte
}

// Stream reads a live stream.
type Stream struct {
	body io.ReadCloser
	br   *bufio.Reader
}

// Events opens a live stream with the filter applied by the agent.
func (c *Client) Events(ctx context.Context, f StreamFilter) (*Stream, error) {
	resp, err := c.get(ctx, "/v1/events?"+f.Query().Encode())
	if err != nil {
		return nil, err
	}
	return &Stream{body: resp.Body, br: bufio.NewReaderSize(resp.Body, 64<<10)}, nil
}

// Next returns the next item; io.EOF when the agent ended the stream.
func (s *Stream) Next() (Item, error) {
	raw, err := s.br.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(raw) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Item{}, err
	}
	raw = raw[:len(raw)-1]
	it := Item{Raw: raw}
	var head struct {
		Kind    event.Kind `json:"kind"`
		Dropped uint64     `json:"dropped"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return it, fmt.Errorf("bad line from the agent: %w", err)
	}
	switch head.Kind {
	case "stream_dropped":
		it.Dropped = head.Dropped
	case event.KindDrops:
		it.Drops = new(event.Drops)
		if err := json.Unmarshal(raw, it.Drops); err != nil {
			return it, fmt.Errorf("bad drops record from the agent: %w", err)
		}
	case event.KindAlert:
		it.Alert = new(event.Alert)
		if err := json.Unmarshal(raw, it.Alert); err != nil {
			return it, fmt.Errorf("bad alert from the agent: %w", err)
		}
	default:
		it.Event = new(event.Event)
		if err := json.Unmarshal(raw, it.Event); err != nil {
			return it, fmt.Errorf("bad event from the agent: %w", err)
		}
	}
	return it, nil
}

// More says a whole line is already read, so Next will not wait: a
// printer flushes when there is none.
func (s *Stream) More() bool {
	buf, _ := s.br.Peek(s.br.Buffered())
	return bytes.IndexByte(buf, '\n') >= 0
}

// Close ends the stream.
func (s *Stream) Close() error { return s.body.Close() }

func (c *Client) get(ctx context.Context, path string) (*http.Response, error) {
	return c.request(ctx, http.MethodGet, path, nil)
}

// request sends one request and returns the response when the agent says
// 200; a 422 (a policy file the agent refused) is a *PolicyError, any
// other status an error with the agent's words.
func (c *Client) request(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://vigil"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.explain(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer func() { _ = resp.Body.Close() }() // read-only
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	text := strings.TrimSpace(string(msg))
	if resp.StatusCode == http.StatusUnprocessableEntity {
		return nil, &PolicyError{Message: text}
	}
	return nil, fmt.Errorf("agent at %s: %s", c.socket, text)
}

// ErrNoAgent says nothing answers on the socket: no agent runs there.
var ErrNoAgent = errors.New("no agent")

// explain turns a connection failure into what to do about it.
func (c *Client) explain(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("%w at %s: start one with `sudo vigil run`, or point --socket at its socket", ErrNoAgent, c.socket)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w answers at %s (a stale socket?): start one with `sudo vigil run`", ErrNoAgent, c.socket)
	case errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot open %s: permission denied: the socket is root's, rerun with sudo", c.socket)
	}
	return fmt.Errorf("agent at %s: %w", c.socket, err)
}
