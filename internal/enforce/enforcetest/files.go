package enforcetest

import (
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
)

// CopyFile copies the executable from to a new file to: the same content,
// another inode. It returns to.
func CopyFile(tb testing.TB, from, to string) string {
	tb.Helper()
	src, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
	return to
}

// ListenTCP is a TCP listener on addr that accepts and closes every
// connection, until the test ends; it returns the address it listens on.
func ListenTCP(tb testing.TB, addr string) netip.AddrPort {
	tb.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort()
}
