package network

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestUnixSockets: with Unix on, unix sockets are reported with their
// paths, file and abstract; with the default configuration, a second
// sensor reports none of it.
func TestUnixSockets(t *testing.T) {
	off := watch(t, Config{})
	on := watch(t, Config{Unix: true})
	pid := os.Getpid()
	for _, path := range []string{
		filepath.Join(t.TempDir(), "vigil.sock"),
		fmt.Sprintf("@vigil-test-%x", rand.Uint64()),
	} {
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		sc := <-accepted

		isUnix := func(ev *event.Event) bool { return ev.Network.Family == "unix" }
		local := func(ev *event.Event) bool { return isUnix(ev) && ev.Network.SAddr == path }
		bind := on.waitFor(t, "unix net_bind", of(event.KindNetBind, pid, local))
		listen := on.waitFor(t, "unix net_listen", of(event.KindNetListen, pid, local))
		accept := on.waitFor(t, "unix net_accept", of(event.KindNetAccept, pid, local))
		connect := on.waitFor(t, "unix net_connect", of(event.KindNetConnect, pid, func(ev *event.Event) bool {
			return isUnix(ev) && ev.Network.DAddr == path
		}))
		for _, ev := range []*event.Event{bind, listen, accept, connect} {
			n := ev.Network
			if n.Protocol != "unix" || n.SocketType != "stream" || n.Result != "success" || n.SPort != 0 || n.DPort != 0 {
				t.Errorf("%s: network %+v, want a successful unix stream call", ev.Kind, n)
			}
		}

		// the accepted socket put on stdin, and stdin put back
		saved, err := unix.Dup(0)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := c.(*net.UnixConn).File()
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Dup3(int(raw.Fd()), 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := unix.Dup3(saved, 0, 0); err != nil {
			t.Fatal(err)
		}
		unix.Close(saved)
		raw.Close()
		redirect := on.waitFor(t, "unix fd_redirect", of(event.KindFdRedirect, pid, func(ev *event.Event) bool {
			return isUnix(ev) && ev.Network.DAddr == path
		}))
		if redirect.Redirect.NewFD != 0 {
			t.Errorf("fd_redirect %+v, want onto 0", redirect.Redirect)
		}
		c.Close()
		sc.Close()
		ln.Close()
	}

	// sync the sensor that ignores unix sockets, then look
	sync := listen(t)
	port := uint16(sync.Addr().(*net.TCPAddr).Port)
	off.waitFor(t, "net_listen after the unix calls", of(event.KindNetListen, pid, sport(port)))
	if got := off.find(func(ev *event.Event) bool { return ev.Network.Family == "unix" }); len(got) > 0 {
		t.Errorf("unix sockets are off by default, yet %s was reported: %+v", got[0].ev.Kind, got[0].ev.Network)
	}
}
