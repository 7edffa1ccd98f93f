package verify

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newVerifier(t *testing.T) *Verifier {
	t.Helper()
	testenv.RequirePrivileged(t)
	v, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func byName(o Object) map[string]Program {
	m := map[string]Program{}
	for _, p := range o.Programs {
		m[p.Name] = p
	}
	return m
}

// TestManyKindsPass: an object of the libbpf-tools kind (maps of many
// types, a prog array with a static entry, a map of maps, .data, .bss and
// .rodata) loads program by program, and every program passes with its
// statistics read from the verifier.
func TestManyKindsPass(t *testing.T) {
	v := newVerifier(t)
	o := v.Object("testdata/kinds.bpf.o")
	if o.Error != "" {
		t.Fatal(o.Error)
	}
	wantTypes := map[string]string{
		"tp_openat": "TracePoint", "tail_target": "TracePoint", "on_exec": "Tracing",
		"raw_enter": "RawTracepoint", "xdp_pass": "XDP", "tc_count": "SchedCLS",
		"egress": "CGroupSKB", "connect4": "CGroupSockAddr", "sock_all": "SocketFilter",
	}
	progs := byName(o)
	if len(progs) != len(wantTypes) {
		t.Errorf("%d programs, want %d: %v", len(progs), len(wantTypes), progs)
	}
	for name, typ := range wantTypes {
		p, ok := progs[name]
		if !ok {
			t.Errorf("program %s missing from the report", name)
			continue
		}
		if p.Status != Pass || p.Type != typ {
			t.Errorf("%s: %s %s (%s), want pass %s", name, p.Status, p.Type, p.Error, typ)
		}
		if p.Processed <= 0 || p.ProcessedLimit != ComplexityLimit || p.Insns <= 0 || len(p.StackDepth) == 0 {
			t.Errorf("%s: statistics not read from the log: %+v", name, p.Stats)
		}
		if p.VerificationUsec <= 0 && p.LoadUsec <= 0 {
			t.Errorf("%s: no verification time", name)
		}
	}
	if o.Maps < 10 {
		t.Errorf("%d maps, want the 9 declared ones and the global data sections", o.Maps)
	}
	if p := progs["connect4"]; p.AttachType != "CGroupInet4Connect" {
		t.Errorf("connect4 attach type %q", p.AttachType)
	}
	if p := progs["tp_openat"]; p.StackBytes < 4 {
		t.Errorf("tp_openat stack %v: it keeps a key on the stack", p.StackDepth)
	}
}

// fentryRefused reports whether this kernel refuses fentry programs
// before the verifier runs, as KERNEL.md says it does here.
func fentryRefused(t *testing.T) bool {
	t.Helper()
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "do_unlinkat", License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err == nil {
		_ = p.Close()
		return false
	}
	if !errors.Is(err, unix.EPERM) {
		t.Fatalf("fentry probe: %v", err)
	}
	return true
}

// TestRejectionDoesNotHideTheOthers: in one object, a program the verifier
// rejects is reported with its failing instruction and log tail, the good
// program beside it passes, and fentry/LSM programs are unsupported here
// (or pass, on a kernel that loads them) — never verifier failures.
func TestRejectionDoesNotHideTheOthers(t *testing.T) {
	v := newVerifier(t)
	o := v.Object("testdata/mixed.bpf.o")
	progs := byName(o)
	if p := progs["good"]; p.Status != Pass {
		t.Errorf("good: %s (%s), want pass", p.Status, p.Error)
	}
	bad := progs["out_of_bounds"]
	if bad.Status != Fail || bad.Reason != ReasonVerifier {
		t.Fatalf("out_of_bounds: %s/%s (%s), want a verifier failure", bad.Status, bad.Reason, bad.Error)
	}
	if bad.FailedInsn == nil || !strings.Contains(bad.FailedInsn.Text, "*(u64 *)(r0 +8)") ||
		!strings.Contains(bad.FailedInsn.Source, "v[1]") {
		t.Errorf("failing instruction %+v: want the load of v[1] at r0+8", bad.FailedInsn)
	}
	if !strings.Contains(bad.Error, "invalid access to map value") ||
		!strings.Contains(strings.Join(bad.LogTail, "\n"), "invalid access to map value") {
		t.Errorf("error %q, tail %q: want the verifier's message", bad.Error, bad.LogTail)
	}
	if bad.Processed <= 0 {
		t.Errorf("out_of_bounds: no statistics from the rejection's log: %+v", bad.Stats)
	}
	refused := fentryRefused(t)
	for _, name := range []string{"on_unlink", "on_open"} {
		p := progs[name]
		switch {
		case refused && (p.Status != Unsupported || p.Reason != ReasonProgramType):
			t.Errorf("%s: %s/%s (%s), want unsupported here: this kernel refuses the type", name, p.Status, p.Reason, p.Error)
		case !refused && p.Status == Fail:
			t.Errorf("%s: %s", name, p.Error)
		}
	}
	r := &Report{Objects: []Object{o}}
	r.summarize()
	if !r.Failed(false) || r.Summary.Failed != 1 || r.Summary.Passed < 1 {
		t.Errorf("summary %+v: want one failure and the gate failing", r.Summary)
	}
}

// TestBaselineGrowth: the same program rebuilt to process far more
// instructions fails a baseline taken before, within a threshold it
// passes, and against its own baseline it is unchanged.
func TestBaselineGrowth(t *testing.T) {
	v := newVerifier(t)
	dir := t.TempDir()
	obj := filepath.Join(dir, "spin.o")
	copyFile(t, "testdata/grow_small.bpf.o", obj)
	small := v.Objects([]string{obj})
	basePath := filepath.Join(dir, "baseline.json")
	var buf bytes.Buffer
	if err := small.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(basePath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := ReadReport(basePath)
	if err != nil {
		t.Fatal(err)
	}

	same := v.Objects([]string{obj})
	same.Compare(base, basePath, 0)
	if g := same.Objects[0].Programs[0].Growth; g == nil || g.DeltaPct != 0 || same.Failed(false) {
		t.Errorf("unchanged object: growth %+v, failed %v", g, same.Failed(false))
	}

	copyFile(t, "testdata/grow_big.bpf.o", obj)
	big := v.Objects([]string{obj})
	big.Compare(base, basePath, 10)
	g := big.Objects[0].Programs[0].Growth
	if g == nil || !g.Exceeded || g.New <= g.Old || g.Old != small.Objects[0].Programs[0].Processed {
		t.Fatalf("grown object: growth %+v, want exceeded with old %d", g, small.Objects[0].Programs[0].Processed)
	}
	if !big.Failed(false) || big.Summary.Grown != 1 || big.Summary.Failed != 0 {
		t.Errorf("summary %+v: the growth alone must fail the gate", big.Summary)
	}
	lenient := v.Objects([]string{obj})
	lenient.Compare(base, basePath, g.DeltaPct+1)
	if lenient.Failed(false) {
		t.Errorf("growth %.1f%% failed a %.1f%% threshold", g.DeltaPct, g.DeltaPct+1)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReportFormatsParseBack: the JSON report reads back to the same
// report, and the JUnit XML is well-formed, one suite per object and one
// case per program, the failure carrying the failing instruction.
func TestReportFormatsParseBack(t *testing.T) {
	v := newVerifier(t)
	r := v.Objects([]string{"testdata/mixed.bpf.o", "testdata/kinds.bpf.o", "verify.go"})
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON report does not parse: %v", err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("JSON round trip changed the report:\n%+v\n%+v", back, *r)
	}
	if r.Summary.ObjectErrors != 1 || r.Objects[2].Error == "" {
		t.Errorf("verify.go is no BPF object: summary %+v", r.Summary)
	}

	for _, unsupportedFails := range []bool{false, true} {
		var x bytes.Buffer
		if err := r.WriteJUnit(&x, unsupportedFails); err != nil {
			t.Fatal(err)
		}
		var suites junitSuites
		if err := xml.Unmarshal(x.Bytes(), &suites); err != nil {
			t.Fatalf("JUnit XML does not parse: %v\n%s", err, x.Bytes())
		}
		if len(suites.Suites) != 3 || suites.Errors != 1 {
			t.Fatalf("%d suites, %d errors: want one per object, the Go file an error", len(suites.Suites), suites.Errors)
		}
		mixed := suites.Suites[0]
		if mixed.Name != "testdata/mixed.bpf.o" || len(mixed.Cases) != len(r.Objects[0].Programs) {
			t.Errorf("suite %s has %d cases, want %d", mixed.Name, len(mixed.Cases), len(r.Objects[0].Programs))
		}
		wantFail, wantSkip := 1, r.Summary.Unsupported
		if unsupportedFails {
			wantFail, wantSkip = 1+wantSkip, 0
		}
		if suites.Failures != wantFail || suites.Skipped != wantSkip {
			t.Errorf("unsupportedFails %v: %d failures, %d skipped, want %d and %d",
				unsupportedFails, suites.Failures, suites.Skipped, wantFail, wantSkip)
		}
		for _, c := range mixed.Cases {
			if strings.HasPrefix(c.Name, "out_of_bounds ") &&
				(c.Failure == nil || !strings.Contains(c.Failure.Message, "(79)") || !strings.Contains(c.Failure.Text, "invalid access")) {
				t.Errorf("out_of_bounds case: %+v", c.Failure)
			}
		}
	}
}

// TestVigilObjectsPass: every object vigil ships passes this kernel's
// verifier; what it cannot load here is a program type this kernel
// refuses or a tracepoint it lacks, never a rejection.
func TestVigilObjectsPass(t *testing.T) {
	v := newVerifier(t)
	// tracefs tells a tracepoint this kernel lacks from a rejection
	if _, err := kernel.EnsureMounts(); err != nil {
		t.Fatal(err)
	}
	var paths []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_bpfel.o") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("found %d objects: the walk no longer finds vigil's objects", len(paths))
	}
	r := v.Objects(paths)
	for _, o := range r.Objects {
		if o.Error != "" {
			t.Errorf("%s: %s", o.Path, o.Error)
		}
		for _, p := range o.Programs {
			switch {
			case p.Status == Fail:
				t.Errorf("%s: %s fails: %s\n%s", o.Path, p.Name, p.Error, strings.Join(p.LogTail, "\n"))
			case p.Status == Unsupported && p.Reason != ReasonProgramType && p.Reason != ReasonAttachTarget:
				t.Errorf("%s: %s unsupported for %s: %s", o.Path, p.Name, p.Reason, p.Error)
			}
		}
	}
	if r.Summary.Passed < 50 {
		t.Errorf("summary %+v: most of vigil's programs must pass", r.Summary)
	}
}

// TestTraceLimit: past TraceLimit instructions processed, a rejection is
// not loaded again for the instruction-level log: the report keeps the
// verifier's message and statistics, and names no instruction.
func TestTraceLimit(t *testing.T) {
	testenv.RequirePrivileged(t)
	v, err := New(Options{TraceLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	bad := byName(v.Object("testdata/mixed.bpf.o"))["out_of_bounds"]
	if bad.Status != Fail || bad.FailedInsn != nil || bad.Processed <= 1 {
		t.Errorf("out_of_bounds: %s, failing instruction %+v, processed %d: want a failure without trace", bad.Status, bad.FailedInsn, bad.Processed)
	}
	if !strings.Contains(bad.Error, "invalid access to map value") || len(bad.LogTail) == 0 {
		t.Errorf("error %q, tail %q: want the stats-level log's message", bad.Error, bad.LogTail)
	}
	for _, l := range bad.LogTail {
		if _, ok := insnIndex(l); ok {
			t.Errorf("instruction %q in a log loaded at the stats level only", l)
		}
	}
}

// TestStructOpsAloneIsUnsupported: a struct_ops program needs its
// struct_ops map to load; alone, the kernel refuses it without a verifier
// message, and that is no verdict on the program.
func TestStructOpsAloneIsUnsupported(t *testing.T) {
	v := newVerifier(t)
	spec := &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{},
		Programs: map[string]*ebpf.ProgramSpec{"ops": {
			Name: "ops", Type: ebpf.StructOps, SectionName: "struct_ops/x", License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		}},
	}
	p := v.program(spec, "ops")
	if p.Status != Unsupported || p.Reason != ReasonProgramType {
		t.Errorf("struct_ops alone: %s/%s (%s), want unsupported program type", p.Status, p.Reason, p.Error)
	}
}
