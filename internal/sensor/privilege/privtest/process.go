package privtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptraceAttach attaches to the process args[0], waits for it to stop,
// writes back a word of its memory unchanged (PTRACE_POKEDATA), and
// detaches.
func ptraceAttach(args []string) error {
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	addr, err := writableAddress(pid)
	if err != nil {
		return err
	}
	if err := unix.PtraceAttach(pid); err != nil {
		return fmt.Errorf("attach %d: %w", pid, err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return fmt.Errorf("wait for %d to stop: %w", pid, err)
	}
	word := make([]byte, 8)
	if _, err := unix.PtracePeekData(pid, addr, word); err != nil {
		return fmt.Errorf("peek %#x: %w", addr, err)
	}
	if _, err := unix.PtracePokeData(pid, addr, word); err != nil {
		return fmt.Errorf("poke %#x: %w", addr, err)
	}
	if err := unix.PtraceDetach(pid); err != nil {
		return fmt.Errorf("detach %d: %w", pid, err)
	}
	fmt.Printf("%d\n", addr)
	return nil
}

// writableAddress is the start of the process's first writable mapping.
func writableAddress(pid int) (uintptr, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		// 55d0c0a5e000-55d0c0a5f000 rw-p 00003000 fe:01 1234 /usr/bin/sleep
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		start, _, _ := strings.Cut(f[0], "-")
		v, err := strconv.ParseUint(start, 16, 64)
		return uintptr(v), err
	}
	return 0, errors.New("no writable mapping")
}

// vmTarget prints the address of a buffer, waits for a line on stdin
// (another process writes the buffer meanwhile), then prints the buffer.
func vmTarget([]string) error {
	buf := make([]byte, 32)
	copy(buf, "untouched")
	fmt.Printf("%d\n", uintptr(unsafe.Pointer(&buf[0])))
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	fmt.Println(string(bytes.TrimRight(buf, "\x00")))
	runtime.KeepAlive(buf)
	return nil
}

// vmWrite writes args[2] into process args[0] at address args[1].
func vmWrite(args []string) error {
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	addr, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		return err
	}
	text := append([]byte(args[2]), 0)
	local := []unix.Iovec{{Base: &text[0]}}
	local[0].SetLen(len(text))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(text)}}
	n, err := unix.ProcessVMWritev(pid, local, remote, 0)
	if err != nil {
		return fmt.Errorf("process_vm_writev: %w", err)
	}
	fmt.Println(n)
	return nil
}
