package network

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// tcpStateName names a TCP state as include/net/tcp_states.h does.
func tcpStateName(s uint8) string {
	names := [...]string{
		1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
		6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
		11: "CLOSING", 12: "NEW_SYN_RECV", 13: "BOUND_INACTIVE",
	}
	if int(s) < len(names) && names[s] != "" {
		return names[s]
	}
	return fmt.Sprintf("STATE_%d", s)
}

func syscallName(s networkNetSyscall) string {
	names := [...]string{
		networkNetSyscallNET_SYS_CONNECT:  "connect",
		networkNetSyscallNET_SYS_ACCEPT:   "accept",
		networkNetSyscallNET_SYS_ACCEPT4:  "accept4",
		networkNetSyscallNET_SYS_LISTEN:   "listen",
		networkNetSyscallNET_SYS_BIND:     "bind",
		networkNetSyscallNET_SYS_SOCKET:   "socket",
		networkNetSyscallNET_SYS_SENDTO:   "sendto",
		networkNetSyscallNET_SYS_SENDMSG:  "sendmsg",
		networkNetSyscallNET_SYS_SENDMMSG: "sendmmsg",
		networkNetSyscallNET_SYS_WRITE:    "write",
		networkNetSyscallNET_SYS_DUP:      "dup",
		networkNetSyscallNET_SYS_DUP2:     "dup2",
		networkNetSyscallNET_SYS_DUP3:     "dup3",
		networkNetSyscallNET_SYS_FCNTL:    "fcntl",
		networkNetSyscallNET_SYS_RECVFROM: "recvfrom",
		networkNetSyscallNET_SYS_RECVMSG:  "recvmsg",
		networkNetSyscallNET_SYS_READ:     "read",
		networkNetSyscallNET_SYS_READV:    "readv",
	}
	if int(s) < len(names) {
		return names[s]
	}
	return ""
}

// magicName names what received bytes start with; "" for none or an
// unknown value.
func magicName(m networkNetMagic) string {
	switch m {
	case networkNetMagicNET_MAGIC_JAVA_CLASS:
		return "java_class"
	case networkNetMagicNET_MAGIC_ELF:
		return "elf"
	}
	return ""
}

// errnoName names an errno ("ECONNREFUSED"); "errno_<n>" when unknown.
func errnoName(errno int64) string {
	if name := unix.ErrnoName(syscall.Errno(errno)); name != "" {
		return name
	}
	return fmt.Sprintf("errno_%d", errno)
}

// result is what a call's return value says: "success" or the errno.
func result(ret int64) string {
	if ret >= 0 {
		return "success"
	}
	return errnoName(-ret)
}
