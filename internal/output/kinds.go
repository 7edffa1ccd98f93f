package output

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/suggest"

	"github.com/vigil-sec/vigil/internal/event"
)

// Kinds are the event kinds that reach outputs (internal/event's table),
// in wire order: process, file, network, privilege.
// process_fork is not among them: forks only feed the process cache.
func Kinds() []event.Kind {
	return event.KindsWhere(func(row event.KindInfo) bool { return row.Output })
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

// nearest is suggest.Nearest, and a name with s as one of its words is as
// plausible: "exec" for process_exec, "dns" for dns_query.
func nearest(s string, candidates []string) string {
	if best := suggest.Nearest(s, candidates); best != "" {
		return best
	}
	for _, c := range candidates {
		if len(s) >= 3 && (strings.HasSuffix(c, "_"+s) || strings.HasPrefix(c, s+"_")) {
			return c
		}
	}
	return ""
}
