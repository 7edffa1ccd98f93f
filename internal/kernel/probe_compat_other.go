//go:build !amd64

package kernel

import "errors"

// forkCompatChild is never called off amd64 (CompatSyscalls answers first).
func forkCompatChild() (int, error) {
	return 0, errors.New("int $0x80 exists on x86-64 only")
}
