package output

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// Kinds are the event kinds that reach outputs, in the order docs/events.md
// lists them. process_fork is not among them: forks only feed the process
// cache.
func Kinds() []event.Kind {
	return []event.Kind{
		event.KindProcessExec, event.KindProcessExit,
		event.KindFileOpen, event.KindFileUnlink, event.KindFileRename, event.KindFileChmod, event.KindFileChown,
		event.KindFileLink, event.KindFileSymlink, event.KindFileTruncate, event.KindFileMkdir, event.KindMemfdCreate,
		event.KindNetConnect, event.KindNetAccept, event.KindNetListen, event.KindNetBind, event.KindNetSocket,
		event.KindNetClose, event.KindDNSQuery, event.KindFdRedirect,
		event.KindPrivilegeChange, event.KindPtrace, event.KindProcessVMWrite, event.KindNamespaceChange,
		event.KindMount, event.KindUmount, event.KindChroot, event.KindPivotRoot,
		event.KindModuleLoad, event.KindModuleUnload, event.KindBPFLoad, event.KindKexecLoad,
		event.KindUserfaultfd, event.KindPersonality,
	}
}

// ParseKind checks an event kind given to a filter. The error names the
// nearest valid kind when there is a plausible one, and lists them all.
func ParseKind(s string) (event.Kind, error) {
	k := event.Kind(s)
	names := make([]string, 0, 40)
	for _, known := range Kinds() {
		if k == known {
			return k, nil
		}
		names = append(names, string(known))
	}
	switch k {
	case event.KindProcessFork:
		return "", fmt.Errorf("kind %q is never output: forks only feed the process cache (use process_exec)", s)
	case event.KindAlert, "alerts":
		return "", fmt.Errorf("kind %q: alerts are not an event kind; select them by type (type=alerts, vigil events --type alerts)", s)
	}
	hint := ""
	if n := nearest(strings.ToLower(s), names); n != "" {
		hint = fmt.Sprintf(" (did you mean %s?)", n)
	}
	return "", fmt.Errorf("unknown event kind %q%s; valid kinds: %s", s, hint, strings.Join(names, ", "))
}

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a plausible typo.
func nearest(s string, candidates []string) string {
	best, bestD := "", max(3, len(s)/3+1)
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	// a prefix is as plausible: "exec" for process_exec, "dns" for dns_query
	if best == "" {
		for _, c := range candidates {
			if len(s) >= 3 && (strings.HasSuffix(c, "_"+s) || strings.HasPrefix(c, s+"_")) {
				return c
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
