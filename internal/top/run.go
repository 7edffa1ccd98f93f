package top

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Options say what Run shows and how.
type Options struct {
	// URL is the agent's metrics endpoint, /metrics included.
	URL      string
	Interval time.Duration
	Sort     SortKey
	// JSON writes a line of JSON per refresh instead of a table.
	JSON bool
	// Once shows one refresh (two scrapes an interval apart) and returns.
	Once bool
	// Live redraws the screen in place (a terminal); otherwise each
	// refresh is appended, a blank line between them.
	Live bool
	// Height is the terminal's height in lines, read at each refresh so
	// that a resize takes effect (Live only; nil: no limit).
	Height func() int
	// Keys are the keys pressed while top runs (Live only; nil: none):
	// c, r, i, n sort by CPU, run queue, I/O, network RTT; q quits.
	Keys <-chan byte
	Out  io.Writer
	// Client scrapes the agent; its timeout bounds one scrape.
	Client *http.Client
}

// ANSI sequences of the live view: cursor home, clear to the end of the
// screen, clear to the end of the line.
const (
	home      = "\x1b[H"
	clearEnd  = "\x1b[J"
	clearLine = "\x1b[K"
)

// Run scrapes the agent every interval and shows what changed between
// each scrape and the one before, until ctx ends (nil) or q is pressed.
// An unreachable agent is an error at the first scrape; later, a failed
// scrape is shown and the next one tried.
func Run(ctx context.Context, o Options) error {
	if o.Interval <= 0 {
		return fmt.Errorf("--interval %s: want a positive duration", o.Interval)
	}
	// prev is empty until the second scrape: a frame compares two
	cur, err := Scrape(o.Client, o.URL)
	if err != nil {
		return err
	}
	var prev Snapshot
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	key := o.Sort
	for {
		select {
		case <-ctx.Done():
			return nil
		case k := <-o.Keys:
			next, quit := pressed(k, key)
			if quit {
				return nil
			}
			if next == key || prev.Time.IsZero() {
				key = next
				continue
			}
			key = next
		case <-tick.C:
			next, err := Scrape(o.Client, o.URL)
			if err != nil {
				if o.Once {
					return err
				}
				// the agent restarting: say so, keep trying
				if err := showError(o, err); err != nil {
					return err
				}
				continue
			}
			prev, cur = cur, next
		}
		f := Frame{Time: cur.Time, Interval: o.Interval, Sort: key, Rows: Rows(prev, cur)}
		Sort(f.Rows, key)
		if err := show(o, f); err != nil {
			return err
		}
		if o.Once {
			return nil
		}
	}
}

// pressed is the sort key after k was pressed while sorting by key, and
// whether k quits.
func pressed(k byte, key SortKey) (SortKey, bool) {
	switch k {
	case 'q', 'Q', 3: // 3: ^C, which raw mode delivers as a byte
		return key, true
	case 'c':
		return SortCPU, false
	case 'r':
		return SortRunq, false
	case 'i':
		return SortIO, false
	case 'n':
		return SortRTT, false
	}
	return key, false
}

// show writes one frame as the options say.
func show(o Options, f Frame) error {
	switch {
	case o.JSON:
		return WriteJSON(o.Out, f)
	case o.Live:
		limit := 0
		if o.Height != nil {
			// the title, the header, the "… more" line and the prompt
			limit = max(1, o.Height()-4)
		}
		// each line cleared to its end: a shorter line leaves nothing of
		// the longer one it overwrites
		var b strings.Builder
		if err := WriteTable(&b, f, limit); err != nil {
			return err
		}
		if _, err := io.WriteString(o.Out, home+strings.ReplaceAll(b.String(), "\n", clearLine+"\n")); err != nil {
			return err
		}
		_, err := io.WriteString(o.Out, "sort: c cpu, r run queue, i io, n rtt; q quits"+clearEnd)
		return err
	}
	if err := WriteTable(o.Out, f, 0); err != nil {
		return err
	}
	_, err := io.WriteString(o.Out, "\n")
	return err
}

// showError reports a failed scrape between frames (not in JSON, whose
// reader wants frames only; the next good scrape resumes it).
func showError(o Options, err error) error {
	line := fmt.Sprintf("%s: %v\n", time.Now().Format(time.TimeOnly), err)
	switch {
	case o.JSON:
		return nil
	case o.Live:
		line = home + line + clearEnd
	}
	_, werr := io.WriteString(o.Out, line)
	return werr
}
