package verify

import (
	"encoding/xml"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A rejection's log at levels 1|4 as this project's kernel (6.18) wrote
// it for testdata/mixed.bpf.c's out_of_bounds.
var rejectedLog = []string{
	"arg#0 reference type('UNKNOWN ') size cannot be determined: -22",
	"0: R1=ctx() R10=fp0",
	"; int out_of_bounds(void *ctx) @ mixed.bpf.c:33",
	"0: (b4) w6 = 0                        ; R6=0",
	"; __u32 zero = 0; @ mixed.bpf.c:35",
	"1: (63) *(u32 *)(r10 -4) = r6         ; R6=0 R10=fp0 fp-8=0000????",
	"2: (bf) r2 = r10                      ; R2=fp0 R10=fp0",
	"3: (07) r2 += -4                      ; R2=fp-4",
	"; __u64 *v = bpf_map_lookup_elem(&values, &zero); @ mixed.bpf.c:36",
	"4: (18) r1 = 0xffff8881068bf000       ; R1=map_ptr(map=values,ks=4,vs=8)",
	"6: (85) call bpf_map_lookup_elem#1    ; R0=map_value(map=values,ks=4,vs=8)",
	"; if (v) @ mixed.bpf.c:39",
	"7: (15) if r0 == 0x0 goto pc+1        ; R0=map_value(map=values,ks=4,vs=8)",
	"; return v[1]; @ mixed.bpf.c:40",
	"8: (79) r6 = *(u64 *)(r0 +8)",
	"invalid access to map value, value_size=8 off=8 size=8",
	"R0 min value is outside of the allowed memory range",
	"verification time 62 usec",
	"stack depth 8",
	"processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
}

func TestParseStats(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  []string
		want Stats
	}{
		{"rejected", rejectedLog, Stats{Processed: 8, ProcessedLimit: 1000000, VerificationUsec: 62, StackDepth: []int{8}}},
		{"subprograms", []string{
			"verification time 241541 usec",
			"stack depth 152+32+0",
			"processed 132150 insns (limit 1000000) max_states_per_insn 12 total_states 5185 peak_states 446 mark_read 31",
		}, Stats{Processed: 132150, ProcessedLimit: 1000000, MaxStatesPerInsn: 12, TotalStates: 5185, PeakStates: 446, MarkRead: 31, VerificationUsec: 241541, StackDepth: []int{152, 32, 0}}},
		// newer kernels dropped mark_read; older ones print no time
		{"no mark_read", []string{
			"processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1",
		}, Stats{Processed: 12, ProcessedLimit: 1000000, TotalStates: 1, PeakStates: 1, MarkRead: -1}},
		{"too large", []string{
			"BPF program is too large. Processed 1000001 insn",
			"processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 10000 peak_states 5000 mark_read 10",
		}, Stats{Processed: 1000001, ProcessedLimit: 1000000, MaxStatesPerInsn: 4, TotalStates: 10000, PeakStates: 5000, MarkRead: 10}},
		{"empty", nil, Stats{MarkRead: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseStats(tc.log)
			if !statsEqual(got, tc.want) {
				t.Errorf("parseStats = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func statsEqual(a, b Stats) bool {
	if !slices.Equal(a.StackDepth, b.StackDepth) {
		return false
	}
	a.StackDepth, b.StackDepth = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestFailedInsn(t *testing.T) {
	in := failedInsn(rejectedLog)
	if in == nil {
		t.Fatal("no failing instruction found")
	}
	want := Insn{Index: 8, Text: "8: (79) r6 = *(u64 *)(r0 +8)", Source: "return v[1]; @ mixed.bpf.c:40"}
	if *in != want {
		t.Errorf("failedInsn = %+v, want %+v", *in, want)
	}
	// a state line has no opcode: not an instruction
	if in := failedInsn([]string{"0: R1=ctx() R10=fp0", "invalid"}); in != nil {
		t.Errorf("state line taken for an instruction: %+v", in)
	}
	if got, want := verifierMessage(rejectedLog), "invalid access to map value, value_size=8 off=8 size=8; R0 min value is outside of the allowed memory range"; got != want {
		t.Errorf("verifierMessage = %q, want %q", got, want)
	}
}

func TestTailDropsStatsAndKeepsTheEnd(t *testing.T) {
	got := tail(rejectedLog, 3)
	want := []string{
		"8: (79) r6 = *(u64 *)(r0 +8)",
		"invalid access to map value, value_size=8 off=8 size=8",
		"R0 min value is outside of the allowed memory range",
	}
	if !slices.Equal(got, want) {
		t.Errorf("tail = %q, want %q", got, want)
	}
}

func TestCompareGrowth(t *testing.T) {
	report := func(processed ...int) *Report {
		o := Object{Path: "x.o"}
		for i, n := range processed {
			o.Programs = append(o.Programs, Program{Name: string(rune('a' + i)), Status: Pass, Stats: Stats{Processed: n}})
		}
		return &Report{Objects: []Object{o}}
	}
	base := report(100, 100, 100)
	cur := report(110, 111, 50, 7)
	cur.Compare(base, "base.json", 10)
	var got []float64
	for _, p := range cur.Objects[0].Programs[:3] {
		got = append(got, p.Growth.DeltaPct)
	}
	if !slices.Equal(got, []float64{10, 11, -50}) {
		t.Errorf("deltas = %v, want [10 11 -50]", got)
	}
	ps := cur.Objects[0].Programs
	if ps[0].Growth.Exceeded || !ps[1].Growth.Exceeded || ps[2].Growth.Exceeded {
		t.Errorf("exceeded = %v %v %v, want only b (11%% > 10%%)", ps[0].Growth.Exceeded, ps[1].Growth.Exceeded, ps[2].Growth.Exceeded)
	}
	if ps[3].Growth != nil || !slices.Equal(cur.Baseline.New, []string{"x.o: d"}) {
		t.Errorf("new program: growth %+v, baseline new %q", ps[3].Growth, cur.Baseline.New)
	}
	if cur.Summary.Grown != 1 || !cur.Failed(false) {
		t.Errorf("summary %+v: want one grown program and a failed gate", cur.Summary)
	}
	gone := report(100)
	gone.Compare(base, "base.json", 10)
	if !slices.Equal(gone.Baseline.Gone, []string{"x.o: b", "x.o: c"}) || gone.Failed(false) {
		t.Errorf("gone = %q, failed %v: want b and c gone, gate passing", gone.Baseline.Gone, gone.Failed(false))
	}
}

func TestStableDropsWhatChangesBetweenRuns(t *testing.T) {
	r := &Report{Kernel: "k", Objects: []Object{{Path: "x.o", Programs: []Program{{
		Name: "a", Stats: Stats{Processed: 9, VerificationUsec: 40}, LoadUsec: 70,
		LogTail: []string{"5: (18) r1 = 0xffff888100000000"}, Growth: &Growth{Old: 1, New: 9},
	}}}}}
	s := r.Stable()
	p := s.Objects[0].Programs[0]
	if p.Processed != 9 || p.VerificationUsec != 0 || p.LoadUsec != 0 || p.LogTail != nil || p.Growth != nil {
		t.Errorf("stable program %+v: want processed kept, times, log and growth dropped", p)
	}
	if orig := r.Objects[0].Programs[0]; orig.LoadUsec != 70 || orig.LogTail == nil {
		t.Errorf("Stable changed the report it copies: %+v", orig)
	}
}

// TestReportsKeepTerminalsAndXMLSafe: names and log lines come from the
// object; the text report escapes them, and JUnit stays well-formed.
func TestReportsKeepTerminalsAndXMLSafe(t *testing.T) {
	evil := "x\x1b]0;owned\a\x1b[2J"
	r := &Report{Kernel: "k", Objects: []Object{
		{Path: evil + ".o", Programs: []Program{{
			Name: evil, Section: evil, Type: "TracePoint", Status: Fail, Reason: ReasonVerifier, Error: evil,
			FailedInsn: &Insn{Index: 1, Text: "1: (79) " + evil, Source: evil}, LogTail: []string{"1: (79) " + evil, evil},
		}}},
		{Path: evil, Error: evil},
	}}
	r.summarize()
	var text strings.Builder
	if err := r.WriteText(&text, false); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text.String(), "\x1b\a") || !strings.Contains(text.String(), `\x1b]0;owned`) {
		t.Errorf("text report lets a control character through or drops the name:\n%q", text.String())
	}
	var x strings.Builder
	if err := r.WriteJUnit(&x, false); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal([]byte(x.String()), &suites); err != nil {
		t.Fatalf("JUnit with control characters in names does not parse: %v\n%s", err, x.String())
	}
	if suites.Failures != 1 || suites.Errors != 1 {
		t.Errorf("JUnit counts %d failures, %d errors: want 1 and 1", suites.Failures, suites.Errors)
	}
}
