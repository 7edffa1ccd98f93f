package testenv

import (
	"fmt"
	"os"
	"strings"
)

// ProcState is the state letter of /proc/PID/stat ("T" stopped, "Z" a
// zombie, "R", "S", …), or "" once the process is gone.
func ProcState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // comm may hold spaces and parentheses
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}
