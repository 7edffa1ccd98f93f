package rule

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// costlyExceptions is a rule whose exceptions have rows of substring
// tests on the command line: each costs a pass over a 4 KiB string at
// worst.
func costlyExceptions(rows int) string {
	var b strings.Builder
	b.WriteString(`- rule: x
  description: d
  condition: kind == "process_exec" && process.name == "curl"
  severity: low
  exceptions:
    - name: scripts
      fields: [process.cmdline, parent.cmdline]
      comps: [contains, contains]
      values:
`)
	for i := range rows {
		fmt.Fprintf(&b, "        - [--script-%d, deploy-%d]\n", i, i)
	}
	return b.String()
}

// TestExpensiveExceptionsAreRejected: exceptions count against the rule's
// budget with its condition (a match pays for both), so a rule whose
// exceptions are too costly does not compile, and the error says where
// and why. The default budget (5 000 000) is out of reach of exceptions
// that fit in CEL's 100 000-character expression limit, so the test
// lowers it.
func TestExpensiveExceptionsAreRejected(t *testing.T) {
	limits := costLimits{static: 20_000, runtime: defaultCostLimits().runtime}
	compileWith := func(file string) error {
		_, err := compile([]Source{{Name: "a.yaml", Data: []byte(file)}}, limits)
		return err
	}
	if err := compileWith(costlyExceptions(10)); err != nil {
		t.Fatalf("10 rows: %v", err)
	}
	err := compileWith(costlyExceptions(200))
	want := "a.yaml:6:7: rule x: exceptions: too expensive: worst case"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "with the condition's") ||
		!strings.Contains(err.Error(), "exceeds 20000") {
		t.Fatalf("200 rows: error %v, want %q … exceeds 20000", err, want)
	}
	// the same rows with an = comparison are cheap
	cheap := strings.ReplaceAll(costlyExceptions(200), "comps: [contains, contains]", "comps: [=, =]")
	if err := compileWith(cheap); err != nil {
		t.Errorf("200 rows of =: %v", err)
	}
}

// TestRuntimeCostLimit: an event far larger than the estimate assumed (an
// argv of 2 million elements where the estimate assumes 1 024) makes an
// evaluation that the runtime limit stops: it is counted as an error, not
// a match, and the next event is evaluated normally.
func TestRuntimeCostLimit(t *testing.T) {
	rs := mustCompile(t, `
- rule: needle
  description: an argument is the needle
  condition: kind == "process_exec" && process.args.exists(a, a.endsWith("needle"))
  severity: low
  tags: [T1059]
`)
	if rs.costLimit != defaultCostLimits().runtime {
		t.Fatalf("runtime cost limit %d, want %d", rs.costLimit, defaultCostLimits().runtime)
	}
	huge := execEv(0, "/bin/true")
	huge.Process.Args = make([]string, 2_000_000)
	for i := range huge.Process.Args {
		huge.Process.Args[i] = "x"
	}
	huge.Process.Args = append(huge.Process.Args, "needle")
	small := execEv(time.Second, "/bin/true", "a", "needle")
	e := NewEngine(rs, Config{})
	start := time.Now()
	out := e.Eval(huge, nil)
	took := time.Since(start)
	out = e.Eval(small, out)
	st := e.Stats().Rules[0]
	if len(out) != 1 || out[0].Event != small {
		t.Errorf("alerts for %v, want one for the small event", ruleNames(out))
	}
	if st.Errors != 1 || !strings.Contains(st.LastError, "cost limit") || st.Matches != 1 {
		t.Errorf("stats %+v, want 1 error (cost limit) and 1 match", st)
	}
	t.Logf("the stopped evaluation took %v", took)
}

// TestRuntimeCostIsPerProgram: the programs an event meets
// share one evaluation frame; the runtime limit bounds each alone, not
// their sum, so many rules that each cost a little all match.
func TestRuntimeCostIsPerProgram(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "- rule: r%d\n  description: d\n  condition: kind == \"process_exec\" && process.args.exists(a, a == \"needle\")\n  severity: low\n", i)
	}
	rs, err := compile([]Source{{Name: "a.yaml", Data: []byte(b.String())}}, costLimits{static: 5_000_000, runtime: 2_000})
	if err != nil {
		t.Fatal(err)
	}
	ev := execEv(0, "/bin/true")
	for range 100 {
		ev.Process.Args = append(ev.Process.Args, "x") // ~400 per rule, ~20 000 for all
	}
	ev.Process.Args = append(ev.Process.Args, "needle")
	alerts := run(rs, Config{Throttle: Throttle{Disabled: true}}, ev)
	if len(alerts) != 50 {
		t.Errorf("%d of 50 rules matched", len(alerts))
	}
}

// TestTrackerOnlyWhereARuleCanBeExpensive: the compiler runs a program
// under the runtime cost limit only when its static estimate could reach
// that limit for a far larger event than the sensors make (a loop over
// argv); a comparison of fields and literals runs without the tracker,
// and still matches.
func TestTrackerOnlyWhereARuleCanBeExpensive(t *testing.T) {
	rs := mustCompile(t, `
- rule: loop
  description: an argument is the needle
  condition: kind == "process_exec" && process.args.exists(a, a.endsWith("needle"))
  severity: low
  tags: [T1059]
- rule: plain
  description: a shell ran
  condition: kind == "process_exec" && process.name in ["sh", "bash"] && process.binary.startsWith("/usr/")
  severity: low
  tags: [T1059]
`)
	tracked := map[string]bool{}
	for _, r := range rs.rules {
		tracked[r.Name] = r.prog.tracked
	}
	if !tracked["loop"] || tracked["plain"] {
		t.Errorf("tracked %v, want the loop only", tracked)
	}
	alerts := run(rs, Config{Throttle: Throttle{Disabled: true}}, execEv(0, "/usr/bin/bash", "-c", "needle"))
	if got := ruleNames(alerts); len(got) != 2 {
		t.Errorf("alerts %v, want loop and plain", got)
	}
}
