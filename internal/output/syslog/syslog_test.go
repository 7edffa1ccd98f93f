package syslog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// rfc5424 parses what Open sends: PRI VERSION TIMESTAMP HOSTNAME APP-NAME
// PROCID MSGID STRUCTURED-DATA MSG.
var rfc5424 = regexp.MustCompile(`^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) (-|\[.+?\]) (.*)$`)

type message struct {
	facility, severity int
	time               time.Time
	host, app, procID  string
	msgID, sd, msg     string
}

func parse(t *testing.T, raw string) message {
	t.Helper()
	m := rfc5424.FindStringSubmatch(raw)
	if m == nil {
		t.Fatalf("not an RFC 5424 message: %q", raw)
	}
	pri, _ := strconv.Atoi(m[1])
	ts, err := time.Parse(time.RFC3339Nano, m[2])
	if err != nil {
		t.Fatalf("timestamp %q: %v", m[2], err)
	}
	return message{facility: pri / 8, severity: pri % 8, time: ts, host: m[3], app: m[4],
		procID: m[5], msgID: m[6], sd: m[7], msg: m[8]}
}

func testEvent() (*event.Event, *event.Alert) {
	ev := &event.Event{
		Time: time.Date(2024, 5, 1, 12, 30, 0, 123456789, time.UTC), Kind: event.KindProcessExec, Node: "node-a",
		Process: &event.Process{PID: 4242, Binary: "/usr/bin/nc", Args: []string{"nc", "-l", "4444"}},
	}
	al := &event.Alert{Time: ev.Time, Kind: event.KindAlert, Node: "node-a", Message: "netcat listener",
		Rule: event.RuleRef{Name: "netcat_listen", Severity: event.SeverityHigh}, Action: event.ActionAlert, Event: ev}
	return ev, al
}

// checkPair checks the event message and the alert message of testEvent.
func checkPair(t *testing.T, evMsg, alMsg message) {
	t.Helper()
	ev, _ := testEvent()
	if evMsg.facility != 16 || evMsg.severity != sevInformational {
		t.Errorf("event facility/severity %d/%d, want 16/%d", evMsg.facility, evMsg.severity, sevInformational)
	}
	if !evMsg.time.Equal(ev.Time.Truncate(time.Microsecond)) {
		t.Errorf("event time %v, want %v", evMsg.time, ev.Time)
	}
	if evMsg.host != "node-a" || evMsg.app != "vigil" || evMsg.procID != strconv.Itoa(os.Getpid()) ||
		evMsg.msgID != "process_exec" || evMsg.sd != "-" {
		t.Errorf("event header %+v", evMsg)
	}
	var got event.Event
	if err := json.Unmarshal([]byte(evMsg.msg), &got); err != nil || got.Process.PID != 4242 {
		t.Errorf("event body %q: %v", evMsg.msg, err)
	}
	if alMsg.severity != sevError || alMsg.msgID != "alert" {
		t.Errorf("alert severity %d msgid %q, want %d alert", alMsg.severity, alMsg.msgID, sevError)
	}
	var gotAl event.Alert
	if err := json.Unmarshal([]byte(alMsg.msg), &gotAl); err != nil || gotAl.Rule.Name != "netcat_listen" {
		t.Errorf("alert body %q: %v", alMsg.msg, err)
	}
}

func sendPair(t *testing.T, address string) {
	t.Helper()
	s, err := Open(Options{Address: address, Facility: 16, Hostname: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	ev, al := testEvent()
	if err := s.Write(ev); err != nil {
		t.Fatalf("write event: %v", err)
	}
	if err := s.WriteAlert(al); err != nil {
		t.Fatalf("write alert: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	sendPair(t, "udp://"+pc.LocalAddr().String())
	msgs := readDatagrams(t, pc, 2)
	checkPair(t, parse(t, msgs[0]), parse(t, msgs[1]))
}

func TestUnixgram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	sendPair(t, "unix://"+path)
	msgs := readDatagrams(t, pc, 2)
	checkPair(t, parse(t, msgs[0]), parse(t, msgs[1]))
}

// TestTCPOctetCounting reads RFC 6587 frames: "LEN SP MSG".
func TestTCPOctetCounting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		got <- readFrames(c)
	}()
	sendPair(t, "tcp://"+ln.Addr().String())
	msgs := <-got
	if len(msgs) != 2 {
		t.Fatalf("%d frames, want 2: %q", len(msgs), msgs)
	}
	checkPair(t, parse(t, msgs[0]), parse(t, msgs[1]))
}

// TestUnixStreamFallback: a daemon listening on a stream socket gets
// newline-terminated messages.
func TestUnixStreamFallback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		var lines []string
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		got <- lines
	}()
	sendPair(t, "unix://"+path)
	msgs := <-got
	if len(msgs) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(msgs), msgs)
	}
	checkPair(t, parse(t, msgs[0]), parse(t, msgs[1]))
}

// TestTCPReconnects: the server drops the connection; the next message
// goes through a new one.
func TestTCPReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := Open(Options{Address: "tcp://" + ln.Addr().String(), Facility: 16, Hostname: "node-a", Format: output.FormatText})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	ev, _ := testEvent()
	accepted := make(chan struct{})
	second := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		close(accepted)
		if err != nil {
			second <- nil
			return
		}
		defer c.Close()
		second <- readFrames(c)
	}()
	// a write into a connection the peer closed may still succeed once
	// (the reset comes back later): write until the sink has reconnected
	deadline := time.After(testenv.WaitLimit)
	for reconnected := false; !reconnected; {
		_ = s.Write(ev)
		select {
		case <-accepted:
			reconnected = true
		case <-deadline:
			t.Fatalf("no reconnection within %v", testenv.WaitLimit)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := s.Write(ev); err != nil {
		t.Fatalf("write after reconnecting: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	msgs := <-second
	if len(msgs) == 0 {
		t.Fatal("nothing arrived on the new connection")
	}
	m := parse(t, msgs[len(msgs)-1])
	if !strings.Contains(m.msg, "/usr/bin/nc -l 4444") {
		t.Errorf("text body %q", m.msg)
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"unix:///dev/log":     "unix /dev/log",
		"udp://127.0.0.1:514": "udp 127.0.0.1:514",
		"tcp://[::1]:6514":    "tcp [::1]:6514",
	} {
		n, a, err := ParseAddress(in)
		if err != nil || n+" "+a != want {
			t.Errorf("ParseAddress(%q) = %s %s, %v; want %s", in, n, a, err, want)
		}
	}
	for _, bad := range []string{"127.0.0.1:514", "udp://host", "http://x:1", "unix://"} {
		if _, _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) accepted", bad)
		}
	}
	if f, err := ParseFacility("LOCAL3"); err != nil || f != 19 {
		t.Errorf("local3 = %d, %v", f, err)
	}
	if _, err := ParseFacility("local8"); err == nil {
		t.Error("local8 accepted")
	}
}

func readDatagrams(t *testing.T, pc net.PacketConn, n int) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(testenv.WaitLimit))
	for len(out) < n {
		k, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read datagram %d: %v", len(out)+1, err)
		}
		out = append(out, string(buf[:k]))
	}
	return out
}

// readFrames reads octet-counted frames until the connection closes.
func readFrames(r io.Reader) []string {
	br := bufio.NewReader(r)
	var out []string
	for {
		lenStr, err := br.ReadString(' ')
		if err != nil {
			return out
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
		if err != nil {
			return append(out, fmt.Sprintf("bad frame length %q", lenStr))
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			return append(out, "short frame")
		}
		out = append(out, string(msg))
	}
}
