//go:build !amd64

package compat

// Syscall is unsupported here.
func Syscall(nr, a1, a2, a3 uint32) (int32, error) { return 0, ErrUnsupported }

// LowMemory is unsupported here.
func LowMemory(n int) ([]byte, error) { return nil, ErrUnsupported }
