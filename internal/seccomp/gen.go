package seccomp

// The names come from the uapi headers of Debian 12's linux-libc-dev
// (Linux 6.1); calls newer than that are reported as unknown numbers.
//go:generate go run gentable.go -o names linux-libc-dev_6.1 /usr/include/x86_64-linux-gnu/asm/unistd_64.h /usr/include/x86_64-linux-gnu/asm/unistd_x32.h /usr/include/x86_64-linux-gnu/asm/unistd_32.h
