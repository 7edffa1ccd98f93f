// Package syslog is the syslog output: RFC 5424 messages over a local
// socket (/dev/log), UDP, or TCP with octet-counting framing (RFC 6587).
// The message is the event or alert as one JSON (or text) line; MSGID is
// the event kind or "alert", and the severity follows the alert's.
package syslog

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// DefaultAddress is the local syslog socket.
const DefaultAddress = "unix:///dev/log"

// Options configure a syslog output.
type Options struct {
	// Address is unix:///path, udp://host:port or tcp://host:port.
	Address string
	// Facility is a number (see ParseFacility); local0 (16) by default
	// is left to the caller: 0 means kern.
	Facility int
	// AppName is APP-NAME; "vigil" when empty.
	AppName string
	// Hostname is HOSTNAME; the host's name when empty.
	Hostname string
	// Format renders the message: json (default) or text.
	Format output.Format
	// Timeout bounds one dial and one write; 5s when zero.
	Timeout time.Duration
}

// ParseAddress splits a syslog address into a network and an address.
func ParseAddress(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("syslog address %q: %w", s, err)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return "", "", fmt.Errorf("syslog address %q: want unix:///path/to/socket", s)
		}
		return "unix", u.Path, nil
	case "udp", "tcp":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return "", "", fmt.Errorf("syslog address %q: want %s://host:port", s, u.Scheme)
		}
		return u.Scheme, u.Host, nil
	case "":
		return "", "", fmt.Errorf("syslog address %q: missing scheme: want unix://, udp:// or tcp://", s)
	}
	return "", "", fmt.Errorf("syslog address %q: scheme %q: want unix, udp or tcp", s, u.Scheme)
}

// Sink sends one message per event or alert. Not safe for concurrent use:
// the fan-out gives it one goroutine.
type Sink struct {
	opts    Options
	network string // as dialled: unixgram, unix, udp, tcp
	addr    string
	pid     int
	enc     *output.Encoder
	conn    net.Conn
	// lastDial rate-limits reconnection while the server is away, so that
	// each message does not wait a dial timeout.
	lastDial time.Time
	// localStream is set when the local socket turned out to be a stream
	localStream bool
	msg         []byte
}

// Open checks the options and connects; when the server is not there
// yet, messages fail (and are counted) until it is.
func Open(opts Options) (*Sink, error) {
	if opts.Address == "" {
		opts.Address = DefaultAddress
	}
	network, addr, err := ParseAddress(opts.Address)
	if err != nil {
		return nil, err
	}
	if opts.AppName == "" {
		opts.AppName = "vigil"
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.Format == "" {
		opts.Format = output.FormatJSON
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Facility < 0 || opts.Facility > 23 {
		return nil, fmt.Errorf("syslog facility %d: want 0…23", opts.Facility)
	}
	s := &Sink{opts: opts, network: network, addr: addr, pid: os.Getpid(), enc: output.NewEncoder(opts.Format)}
	_ = s.dial() // a failure here is retried by the first message
	return s, nil
}

func (s *Sink) dial() error {
	s.lastDial = time.Now()
	d := net.Dialer{Timeout: s.opts.Timeout}
	if s.network != "unix" {
		c, err := d.Dial(s.network, s.addr)
		if err != nil {
			return fmt.Errorf("syslog %s: %w", s.opts.Address, err)
		}
		s.conn = c
		return nil
	}
	// /dev/log is a datagram socket; some daemons listen on a stream one
	c, err := d.Dial("unixgram", s.addr)
	s.localStream = false
	if errors.Is(err, syscall.EPROTOTYPE) {
		c, err = d.Dial("unix", s.addr)
		s.localStream = true
	}
	if err != nil {
		return fmt.Errorf("syslog %s: %w", s.opts.Address, err)
	}
	s.conn = c
	return nil
}

// Write sends ev as one informational message.
func (s *Sink) Write(ev *event.Event) error {
	line, err := s.enc.Event(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return s.send(sevInformational, ev.Time, string(ev.Kind), line)
}

// WriteAlert sends al with the syslog severity of its rule.
func (s *Sink) WriteAlert(al *event.Alert) error {
	line, err := s.enc.Alert(al)
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	return s.send(severity(al.Rule.Severity), al.Time, string(event.KindAlert), line)
}

// WriteDrops sends d as a warning: the reader of this log missed
// something.
func (s *Sink) WriteDrops(d *event.Drops) error {
	line, err := s.enc.Drops(d)
	if err != nil {
		return fmt.Errorf("encode drops record: %w", err)
	}
	return s.send(sevWarning, d.Time, string(event.KindDrops), line)
}

// send frames one message and writes it, reconnecting once if the
// connection broke.
func (s *Sink) send(sev int, t time.Time, msgID string, body []byte) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if s.conn == nil {
			if attempt == 0 && time.Since(s.lastDial) < time.Second {
				return fmt.Errorf("syslog %s: not connected", s.opts.Address)
			}
			if err = s.dial(); err != nil {
				return err
			}
		}
		s.msg = s.frame(s.msg[:0], sev, t, msgID, body)
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout)) // fails on a broken conn: Write tells
		if _, err = s.conn.Write(s.msg); err == nil {
			return nil
		}
		_ = s.conn.Close() // broken: the write error is the one to report
		s.conn = nil
	}
	return fmt.Errorf("syslog %s: %w", s.opts.Address, err)
}

// frame builds the bytes on the wire: TCP counts octets (RFC 6587), a
// local stream socket ends messages with a newline, datagrams need neither.
func (s *Sink) frame(b []byte, sev int, t time.Time, msgID string, body []byte) []byte {
	if s.network == "tcp" {
		// the header's length is known only once it is written
		hdr := header(nil, s.opts.Facility, sev, t, s.opts.Hostname, s.opts.AppName, s.pid, msgID)
		b = strconv.AppendInt(b, int64(len(hdr)+len(body)), 10)
		b = append(b, ' ')
		b = append(b, hdr...)
		return append(b, body...)
	}
	b = header(b, s.opts.Facility, sev, t, s.opts.Hostname, s.opts.AppName, s.pid, msgID)
	b = append(b, body...)
	if s.localStream {
		b = append(b, '\n')
	}
	return b
}

// Flush does nothing: every message is sent as it comes.
func (s *Sink) Flush() error { return nil }

// Close closes the connection.
func (s *Sink) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// String names the destination, for logs.
func (s *Sink) String() string {
	return "syslog " + strings.TrimSpace(s.opts.Address)
}
