package process

import "golang.org/x/sys/unix"

// signalName names a signal the way users write it ("SIGKILL").
func signalName(sig int) string {
	name := unix.SignalName(unix.Signal(sig))
	if name == "" {
		return ""
	}
	return name
}
