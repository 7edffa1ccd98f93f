package enrich

import "github.com/vigil-sec/vigil/internal/event"

// nameAskedUser names the uid a setuid-family call asked for
// (Privilege.User) from the caller's own /etc/passwd, as markUser names a
// process's: what Falco's rules compare evt.arg.uid with. It does nothing
// for other events, so Enrich may call it for every event.
func (e *Enricher) nameAskedUser(ev *event.Event) {
	if e.users == nil || ev.Privilege == nil || ev.Syscall == nil || ev.Process == nil {
		return
	}
	switch ev.Syscall.Name {
	case "setuid", "setreuid", "setresuid", "setfsuid":
	default:
		return
	}
	for _, a := range ev.Syscall.Args {
		if a != -1 { // -1: this id unchanged
			p := ev.Process
			ev.Privilege.User = e.users.Of(p.PID, uint32(a), p.Namespaces.Mnt)
			return
		}
	}
}
