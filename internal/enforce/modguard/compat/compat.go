// Package compat makes 32-bit (ia32) system calls from a 64-bit process,
// for the module guard's tests: "int $0x80" enters the kernel's compat
// path, which the syscall tracepoints never show.
package compat

import "errors"

// ErrUnsupported is returned where this architecture has no ia32 path.
var ErrUnsupported = errors.New("no ia32 system calls on this architecture")
