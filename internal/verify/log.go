package verify

import (
	"slices"
	"strconv"
	"strings"
)

// Stats are what the verifier's log says of a program at the stats level
// (log level 4), and what it prints after a rejection too:
//
//	verification time 25 usec
//	stack depth 8+0
//	processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
type Stats struct {
	// Processed is the instructions the verifier walked, across every
	// path it explored: the measure of complexity it limits.
	Processed int `json:"processed"`
	// ProcessedLimit is the limit the log names (1000000).
	ProcessedLimit   int `json:"processed_limit,omitempty"`
	MaxStatesPerInsn int `json:"max_states_per_insn"`
	TotalStates      int `json:"total_states"`
	PeakStates       int `json:"peak_states"`
	// MarkRead is absent from the logs of newer kernels: -1 then.
	MarkRead int `json:"mark_read"`
	// VerificationUsec is the kernel's own measure of the verification
	// ("verification time N usec"); 0 when its log has no such line.
	VerificationUsec int64 `json:"verification_usec"`
	// StackDepth is the stack bytes of the program and of each of its
	// subprograms, in the log's order ("stack depth 8+0+16").
	StackDepth []int `json:"stack_depth"`
}

// parseStats reads the statistics lines of a verifier log; lines it does
// not know are ignored.
func parseStats(lines []string) Stats {
	s := Stats{MarkRead: -1}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "processed "):
			s.parseProcessed(l)
		case strings.HasPrefix(l, "verification time "):
			f := strings.Fields(strings.TrimPrefix(l, "verification time "))
			if len(f) > 0 {
				s.VerificationUsec, _ = strconv.ParseInt(f[0], 10, 64)
			}
		case strings.HasPrefix(l, "stack depth "):
			s.StackDepth = s.StackDepth[:0]
			for d := range strings.SplitSeq(strings.TrimSpace(strings.TrimPrefix(l, "stack depth ")), "+") {
				if n, err := strconv.Atoi(d); err == nil {
					s.StackDepth = append(s.StackDepth, n)
				}
			}
		}
	}
	return s
}

// parseProcessed reads "processed N insns (limit L) key value key value…".
func (s *Stats) parseProcessed(l string) {
	f := strings.Fields(l)
	if len(f) >= 2 {
		s.Processed, _ = strconv.Atoi(f[1])
	}
	for i := 2; i+1 < len(f); i++ {
		v, err := strconv.Atoi(strings.TrimSuffix(f[i+1], ")"))
		if err != nil {
			continue
		}
		switch f[i] {
		case "(limit":
			s.ProcessedLimit = v
		case "max_states_per_insn":
			s.MaxStatesPerInsn = v
		case "total_states":
			s.TotalStates = v
		case "peak_states":
			s.PeakStates = v
		case "mark_read":
			s.MarkRead = v
		}
	}
}

// StackTotal is the sum of the stack depths: an upper bound of the stack
// the deepest call chain uses, which the kernel holds to StackLimit.
func (s Stats) StackTotal() int {
	n := 0
	for _, d := range s.StackDepth {
		n += d
	}
	return n
}

// Insn is an instruction of the verifier's log: its index and its text
// as the verifier printed it, with the source line before it when the
// object carries BTF line info.
type Insn struct {
	Index  int    `json:"index"`
	Text   string `json:"text"`
	Source string `json:"source,omitempty"`
}

// failedInsn is the last instruction an instruction-level log printed
// ("7: (79) r0 = *(u64 *)(r0 +8)"): the one the verifier stopped at.
func failedInsn(lines []string) *Insn {
	for i := len(lines) - 1; i >= 0; i-- {
		idx, ok := insnIndex(lines[i])
		if !ok {
			continue
		}
		text, _, _ := strings.Cut(lines[i], " ; ")
		in := &Insn{Index: idx, Text: strings.TrimSpace(text)}
		if i > 0 && strings.HasPrefix(lines[i-1], "; ") {
			in.Source = strings.TrimPrefix(lines[i-1], "; ")
		}
		return in
	}
	return nil
}

// insnIndex reads an instruction line's index: "12: (bf) r1 = r6" is 12.
// State lines ("12: R1=ctx()") have no opcode in parentheses.
func insnIndex(l string) (int, bool) {
	num, rest, ok := strings.Cut(l, ": (")
	if !ok || len(rest) < 3 || rest[2] != ')' {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// verifierMessage is what the verifier said when it stopped: the lines
// after the last instruction it printed, else the last line, without
// the statistics.
func verifierMessage(lines []string) string {
	var msg []string
	for i := len(lines) - 1; i >= 0; i-- {
		if _, ok := insnIndex(lines[i]); ok {
			break
		}
		if !isStatsLine(lines[i]) && strings.TrimSpace(lines[i]) != "" {
			msg = append(msg, lines[i])
		}
	}
	slices.Reverse(msg)
	if len(msg) > 3 {
		msg = msg[:3]
	}
	return strings.Join(msg, "; ")
}

func isStatsLine(l string) bool {
	return strings.HasPrefix(l, "processed ") || strings.HasPrefix(l, "verification time ") ||
		strings.HasPrefix(l, "stack depth ")
}

// tail is the last n lines of a log, without the statistics lines that
// the report shows on their own.
func tail(lines []string, n int) []string {
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		l := lines[i]
		if isStatsLine(l) {
			continue
		}
		out = append(out, l)
	}
	slices.Reverse(out)
	return out
}

// splitLog splits a successful load's log into lines.
func splitLog(log string) []string {
	return strings.Split(strings.TrimSpace(log), "\n")
}
