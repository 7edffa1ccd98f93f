package testenv

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// OpenPTY opens a new pseudo-terminal and returns its terminal side and its
// name below /dev ("pts/3"); both sides are closed when the test ends. A
// machine with no pseudo-terminals makes the test Unavailable.
func OpenPTY(tb testing.TB) (*os.File, string) {
	tb.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		Unavailable(tb, fmt.Sprintf("no pseudo-terminals: %v", err))
	}
	tb.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		tb.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		tb.Fatal(err)
	}
	name := fmt.Sprintf("pts/%d", n)
	slave, err := os.OpenFile("/dev/"+name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { slave.Close() })
	return slave, name
}
