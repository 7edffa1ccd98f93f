package agent

import (
	"sync"
	"sync/atomic"
	"time"
)

// dnsThrottle bounds the alerts a listed domain raises: per (process,
// source, listed name), the first query alerts at once and then at most
// one alert per interval; the queries held back in between are counted,
// and the next alert of that key carries their number (Suppressed), so
// that 1 + Suppressed over the alerts gives the queries exactly, but for
// those held back since a key's last alert. A process looking up random
// subdomains of a listed name (a DGA, DNS tunnelling) raises one alert
// per interval, not one per query. Time is the events' time.
type dnsThrottle struct {
	every time.Duration
	max   int

	mu   sync.Mutex
	keys map[dnsKey]*dnsBucket
	// suppressed counts the alerts held back, ever
	suppressed atomic.Uint64
}

type dnsKey struct {
	process string // exec id, or pid when there is none
	source  string
	name    string // the listed name the query matched
}

type dnsBucket struct {
	last time.Time // of the last alert let through
	held uint64
}

// Defaults of the DNS alert throttle.
const (
	dnsAlertEvery = time.Minute
	dnsAlertKeys  = 4096
)

func newDNSThrottle(every time.Duration, max int) *dnsThrottle {
	return &dnsThrottle{every: every, max: max, keys: map[dnsKey]*dnsBucket{}}
}

// admit says whether an alert for k at now goes out, and how many alerts
// of k it stands for beyond itself.
func (t *dnsThrottle) admit(k dnsKey, now time.Time) (ok bool, suppressed uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.keys[k]
	if b == nil {
		if len(t.keys) >= t.max {
			t.forget(now)
		}
		t.keys[k] = &dnsBucket{last: now}
		return true, 0
	}
	if now.Sub(b.last) < t.every {
		b.held++
		t.suppressed.Add(1)
		return false, 0
	}
	suppressed, b.held, b.last = b.held, 0, now
	return true, suppressed
}

// forget makes room: keys idle for a whole interval go (what they held
// is in the total), or, when none is, any one.
func (t *dnsThrottle) forget(now time.Time) {
	for k, b := range t.keys {
		if now.Sub(b.last) >= t.every {
			delete(t.keys, k)
		}
	}
	for k := range t.keys {
		if len(t.keys) < t.max {
			return
		}
		delete(t.keys, k)
	}
}

func (t *dnsThrottle) suppressedTotal() uint64 { return t.suppressed.Load() }
