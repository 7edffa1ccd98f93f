package rule

import (
	"slices"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/vigil-sec/vigil/internal/event"
)

// celValue evaluates a check's condition with CEL alone, as the engine
// does (tracks empty).
func celValue(t *testing.T, e *Engine, ch *check, ev *event.Event) ref.Val {
	t.Helper()
	e.act.reset(ev)
	defer e.act.reset(nil)
	frame, err := interpreter.NewExecutionFrame(&e.act)
	if err != nil {
		t.Fatal(err)
	}
	defer frame.Close()
	p := ch.track.condOr(ch.rule)
	v, err := e.eval(p, frame)
	if err != nil {
		return types.NewErr("%v", err)
	}
	return v
}

// condOr is the track's condition, or the rule's when there is no track.
func (t *trackSpec) condOr(r *Rule) *program {
	if t != nil {
		return t.cond
	}
	return r.prog
}

// verdict is what the pre-filter decides for ev.
func verdict(e *Engine, ch *check, ev *event.Event) tri {
	e.act.reset(ev)
	defer e.act.reset(nil)
	return ch.filter.eval(&e.act)
}

// assertSound requires every verdict of the pre-filter of rs's checks on
// evs (of the kinds the check is indexed under) to be CEL's value: false
// exactly false, not an error, and true exactly true. It returns how
// many were false and true.
func assertSound(t *testing.T, rs *Ruleset, evs []*event.Event) (no, yes int) {
	t.Helper()
	e := NewEngine(rs, Config{})
	for _, ch := range rs.checks {
		if ch.filter == nil {
			continue
		}
		for _, ev := range evs {
			if ch.kinds != nil && !slices.Contains(ch.kinds, string(ev.Kind)) {
				continue
			}
			got := verdict(e, ch, ev)
			if got == triUnknown {
				continue
			}
			want := types.Bool(got == triTrue)
			if v := celValue(t, e, ch, ev); v != want {
				t.Fatalf("%s on %s event %+v: pre-filter says %v, CEL %v", checkName(ch), ev.Kind, ev, want, v)
			}
			if got == triTrue {
				yes++
			} else {
				no++
			}
		}
	}
	return no, yes
}

func checkName(ch *check) string {
	if ch.track != nil {
		return "track " + ch.track.name
	}
	return "rule " + ch.rule.Name
}

// replayEvents are the recorded corpora and every event of the pack's
// tests.
func replayEvents(t *testing.T) []*event.Event {
	evs := append(loadCorpus(t), loadEvents(t, "testdata/benign.jsonl.gz")...)
	return append(evs, fixtureCorpus(t)...)
}

// TestPrefilterIsSound: over the recorded corpora and the pack's tests,
// whatever the pre-filter decides for a check of the default pack is
// what CEL computes.
func TestPrefilterIsSound(t *testing.T) {
	rs, err := Compile(packSources(t))
	if err != nil {
		t.Fatal(err)
	}
	no, yes := assertSound(t, rs, replayEvents(t))
	if no == 0 || yes == 0 {
		t.Fatalf("pre-filter decided %d false and %d true: the comparison proves little", no, yes)
	}
	t.Logf("%d verdicts false, %d true, all as CEL", no, yes)
}

// TestPrefilterIsExact: the default pack with and without the pre-filter
// raises the same alerts, in the same order, with the same messages and
// suppressed counts, and each rule matches, is excepted and fails as
// often.
func TestPrefilterIsExact(t *testing.T) {
	rs, err := Compile(packSources(t))
	if err != nil {
		t.Fatal(err)
	}
	evs := replayEvents(t)
	on, off := NewEngine(rs, Config{}), NewEngine(rs.withoutPrefilter(), Config{})
	var a, b []*event.Alert
	for _, ev := range evs {
		a, b = on.Eval(ev, a), off.Eval(ev, b)
	}
	a, b = on.Drain(a), off.Drain(b)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("with the pre-filter %d alerts, without %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Rule.Name != b[i].Rule.Name || a[i].Event != b[i].Event || a[i].Suppressed != b[i].Suppressed ||
			a[i].Message != b[i].Message {
			t.Fatalf("alert %d: with %s %q, without %s %q", i, a[i].Rule.Name, a[i].Message, b[i].Rule.Name, b[i].Message)
		}
	}
	sa, sb := on.Stats(), off.Stats()
	checksA, checksB := slices.Concat(sa.Rules, sa.Tracks), slices.Concat(sb.Rules, sb.Tracks)
	evaluated := [2]uint64{}
	for i, x := range checksA {
		y := checksB[i]
		if x.Matches != y.Matches || x.Excepted != y.Excepted || x.Errors != y.Errors {
			t.Errorf("%s: with the pre-filter %+v, without %+v", x.Name, x, y)
		}
		evaluated[0] += x.Evaluations
		evaluated[1] += y.Evaluations
	}
	t.Logf("%d events, %d alerts, identical; CEL evaluations %d with the pre-filter, %d without",
		len(evs), len(a), evaluated[0], evaluated[1])
}

// withoutPrefilter is rs with every check's pre-filter off.
func (rs *Ruleset) withoutPrefilter() *Ruleset {
	cp := *rs
	cp.checks = nil
	for _, ch := range rs.checks {
		c := *ch
		c.filter = nil
		cp.checks = append(cp.checks, &c)
	}
	cp.index()
	return &cp
}

// TestPrefilterForms: each form the pre-filter reads gives CEL's value,
// and what it cannot read leaves the verdict open.
func TestPrefilterForms(t *testing.T) {
	ev := &event.Event{Time: epoch, Kind: event.KindProcessExec, Node: "n1",
		Process: &event.Process{PID: 7, UID: 1000, EUID: 0, Binary: "/tmp/x/sshd", Comm: "sshd",
			Args: []string{"sshd: root@pts/0", "-D", "--token=abc"}, Env: map[string]string{"HTTP_PROXY": "http://10.0.0.1:3128"},
			TTY: "", BinaryTrusted: true, Executable: &event.FileID{Mode: 0o104755}},
		Parent: &event.Process{PID: 1, Binary: "/usr/bin/bash"}}
	cases := []struct {
		cond string
		want tri
	}{
		{`process.name == "sshd"`, triTrue},
		{`"sshd" == process.name`, triTrue},
		{`process.name != "sshd"`, triFalse},
		{`process.name in ["a", "b"]`, triFalse},
		{`kind == "process_exec" && node == "n2"`, triFalse},
		{`process.binary.startsWith("/tmp/")`, triTrue},
		{`process.binary.startsWithAny(["/usr/", "/bin/"])`, triFalse},
		{`process.binary.endsWith("/sshd")`, triTrue},
		{`process.binary.endsWithAny(["/a", "/b"])`, triFalse},
		{`process.cmdline.contains("--token=")`, triTrue},
		{`process.cmdline.containsAny(["--pass", "--key"])`, triFalse},
		{`process.cmdline.contains("-D --token")`, triTrue}, // across arguments: read joined
		{`process.cmdline.contains("D --")`, triTrue},
		{`process.cmdline.contains("root@pts/0 -D")`, triTrue},
		{`process.binary.matches("^/tmp/[a-z]+/")`, triTrue},
		{`basename(process.binary) == "sshd"`, triTrue},
		{`dirname(process.binary) == "/usr"`, triFalse},
		{`basename(process.argv0.split(":")[0].split(" ")[0]) in ["sshd"]`, triTrue},
		{`process.argv0.split("x")[0] == "sshd: root@pts/0"`, triTrue},
		{`process.uid == 1000`, triTrue},
		{`process.uid in [0, 1]`, triFalse},
		{`process.uid >= 1000 && process.uid > 999 && process.uid < 1001 && process.uid <= 1000`, triTrue},
		{`1000 < process.uid`, triFalse},
		{`process.executable.mode.hasBits(2048)`, triTrue},
		{`process.executable.mode.anyBits(1024)`, triFalse},
		{`process.binary_trusted`, triTrue},
		{`!process.binary_trusted`, triFalse},
		{`process.args.hasAny(["-D"])`, triTrue},
		{`process.args.anyStartsWith(["--token"]) && process.args.anyEndsWith(["\\"])`, triFalse},
		{`process.args.anyContains(["oken"])`, triTrue},
		{`"-D" in process.args`, triTrue},
		{`"HTTP_PROXY" in process.env`, triTrue},
		{`"LD_PRELOAD" in process.env && process.env["LD_PRELOAD"] != ""`, triFalse},
		{`"HTTP_PROXY" in process.env && process.env["HTTP_PROXY"] != ""`, triUnknown},
		{`["A", "B"].exists(v, v in process.env && process.env[v] != "")`, triFalse},
		{`["A", "HTTP_PROXY"].exists(v, v in process.env && process.env[v] != "")`, triUnknown},
		{`["-D", "x"].exists(v, v in process.args)`, triTrue},
		{`["-D", "x"].all(v, v in process.args)`, triFalse},
		{`["sshd"].exists(kind, kind == process.comm)`, triTrue},
		{`["x"].exists(kind, kind.startsWith("process"))`, triFalse}, // kind is the variable ("x"), not the event's kind
		{`process.args.exists(a, a == "-D")`, triUnknown},
		{`process.name == "sshd" || size(process.args) > 5`, triTrue},
		{`process.name == "x" || size(process.args) > 5`, triUnknown},
		{`!(process.name == "sshd" || size(process.args) > 5)`, triFalse},
		{`process.name == "x" && size(process.args) > 5`, triFalse},
		{`process.name == "sshd" && size(process.args) > 5`, triUnknown},
		{`parent.name == "bash" && process.tty == ""`, triTrue},
		{`tracked("t", process.binary)`, triFalse}, // nothing tracked yet: TestPrefilterTracked
		{`tracked("t", process.binary) || size(process.args) > 1`, triUnknown},
		{`tracked_count("t", process.binary) > 0`, triUnknown},
	}
	for _, c := range cases {
		rs, err := compileFiles(t, `
- track: t
  condition: kind == "file_open"
  key: file.path
- rule: r
  description: d
  severity: low
  condition: '`+c.cond+`'
`)
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		e := NewEngine(rs, Config{})
		ch := rs.checks[len(rs.checks)-1]
		got := triUnknown
		if ch.filter != nil {
			got = verdict(e, ch, ev)
		}
		if got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.cond, got, c.want)
		}
		if got != triUnknown {
			if v := celValue(t, e, ch, ev); v != types.Bool(got == triTrue) {
				t.Errorf("%s: verdict %d, CEL %v", c.cond, got, v)
			}
		}
	}
}

// TestPrefilterTracked: tracked() reads the state the engine's tracks
// hold at that moment, as CEL does.
func TestPrefilterTracked(t *testing.T) {
	rs := mustCompile(t, `
- track: written
  condition: kind == "file_open"
  key: file.path
  window: 1m
- rule: r
  description: d
  severity: low
  condition: kind == "process_exec" && (tracked("written", process.binary) || tracked("written", "/x:" + process.name))
`)
	e := NewEngine(rs, Config{})
	ch := rs.checks[len(rs.checks)-1]
	if ch.filter == nil {
		t.Fatal("no pre-filter")
	}
	for i, c := range []struct {
		ev   *event.Event
		want tri
	}{
		{execEv(0, "/tmp/a"), triFalse},
		{fileEv(time.Second, event.KindFileOpen, "/tmp/a"), triUnknown},
		{execEv(2*time.Second, "/tmp/a"), triTrue},
		{execEv(2*time.Second, "/tmp/b"), triFalse},
		{fileEv(3*time.Second, event.KindFileOpen, "/x:c"), triUnknown},
		{execEv(4*time.Second, "/usr/bin/c"), triTrue},
		{execEv(2*time.Minute, "/tmp/a"), triFalse}, // out of the window
	} {
		if c.want == triUnknown {
			e.Eval(c.ev, nil)
			continue
		}
		got := verdict(e, ch, c.ev)
		if got != c.want {
			t.Errorf("event %d: verdict %d, want %d", i, got, c.want)
		}
		if v := celValue(t, e, ch, c.ev); v != types.Bool(got == triTrue) {
			t.Errorf("event %d: verdict %d, CEL %v", i, got, v)
		}
	}
}

// TestArgvContains: a literal without spaces is in argv joined by spaces
// exactly when it is in one argument.
func TestArgvContains(t *testing.T) {
	argvs := [][]string{nil, {""}, {"a"}, {"a b", "c"}, {"ab", "", "cd"}, {"x=1", "--y", "z z"}}
	lits := []string{"a", "b", "ab", "c", "cd", "bc", "=1", "--y", "z", "y z", "a b", "b c", "1 --y", "-"}
	for _, argv := range argvs {
		for _, l := range lits {
			if !spaceFree(l) {
				continue
			}
			if got, want := argvContains(argv, l), strings.Contains(strings.Join(argv, " "), l); got != want {
				t.Errorf("%q in %q: %v, joined %v", l, argv, got, want)
			}
		}
	}
}
