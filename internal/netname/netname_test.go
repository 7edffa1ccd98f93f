package netname

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Family(unix.AF_INET6), "inet6"},
		{Family(99), "af_99"},
		{SocketType(unix.SOCK_STREAM), "stream"},
		{SocketType(42), "type_42"},
		{Protocol(unix.AF_INET, unix.IPPROTO_TCP), "tcp"},
		{Protocol(unix.AF_INET6, unix.IPPROTO_IP), "ip"},
		{Protocol(unix.AF_INET, 200), "proto_200"},
		{Protocol(unix.AF_UNIX, 0), "unix"},
		{Protocol(unix.AF_PACKET, unix.ETH_P_ARP), "arp"},
		{Protocol(unix.AF_PACKET, 0x88cc), "0x88cc"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
