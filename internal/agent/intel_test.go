package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// intelHelperEnv makes the test binary an intel helper: "connect ADDR:PORT"
// prints how a TCP connect ended (ok, EPERM, …); "dns PORT NAME" sends a
// query for NAME to 127.0.0.1:PORT. The agent exempts the test's own
// process and intel is scoped to the test's cgroup: the calls to judge
// happen in this child, put in that cgroup.
const intelHelperEnv = "VIGIL_TEST_INTEL"

func init() {
	// Not a registry: when re-executed as a helper, the test binary does
	// the helper's job and exits before any test runs.
	if spec := os.Getenv(intelHelperEnv); spec != "" {
		f := strings.Fields(spec)
		switch {
		case len(f) == 2 && f[0] == "connect":
			c, err := net.DialTimeout("tcp4", f[1], 5*time.Second)
			switch {
			case err == nil:
				c.Close()
				fmt.Println("ok")
			case strings.Contains(err.Error(), "operation not permitted"):
				fmt.Println("EPERM")
			default:
				fmt.Println(err)
			}
		case len(f) >= 3 && f[0] == "dns":
			var port int
			fmt.Sscan(f[1], &port)
			n := 1
			if len(f) == 4 {
				fmt.Sscan(f[3], &n)
			}
			for i := range n {
				// subdomains of the listed name, as a DGA would ask
				if err := sendQueryFor(port, strings.Repeat("x", i)+f[2]); err != nil {
					fmt.Println(err)
				}
			}
		}
		os.Exit(0)
	}
}

func sendQueryFor(port int, name string) error {
	u, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(u)
	return unix.Sendto(u, query(0x4242, name), 0, loopback(port))
}

// intelFeed serves a MISP feed directory (plain HTTP) whose content the
// test changes.
type intelFeed struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (f *intelFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	body, ok := f.files[r.URL.Path]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (f *intelFeed) put(files map[string][]byte) {
	f.mu.Lock()
	f.files = files
	f.mu.Unlock()
}

const (
	feedEventUUID = "5f0c1a2b-1111-4000-8000-00000000beef"
	feedEventInfo = "vh14w test campaign"
	feedHashUUID  = "5f0c1a2b-2222-4000-8000-000000000001"
	feedIPUUID    = "5f0c1a2b-2222-4000-8000-000000000002"
	feedDNSUUID   = "5f0c1a2b-2222-4000-8000-000000000003"
	badIP         = "127.0.0.77"
	restIP        = "127.0.0.78"
	badDomain     = "c2.vh14w.test"
	galaxyTag     = `misp-galaxy:mitre-attack-pattern="Application Layer Protocol - T1071"`
)

// mispAttr is an attribute as MISP's feed generator and restSearch write it.
func mispAttr(uuid, typ, value string, ts int64) map[string]any {
	return map[string]any{"uuid": uuid, "type": typ, "category": "Network activity", "value": value,
		"to_ids": true, "deleted": false, "timestamp": fmt.Sprint(ts),
		"Tag": []map[string]any{{"name": "tlp:white"}}}
}

// feedFiles is a MISP feed (manifest.json + one event file) listing attrs.
func feedFiles(ts int64, attrs ...map[string]any) map[string][]byte {
	ev := map[string]any{"Event": map[string]any{"uuid": feedEventUUID, "info": feedEventInfo, "date": "2026-12-07",
		"published": true, "timestamp": fmt.Sprint(ts), "analysis": "2", "threat_level_id": "1",
		"Orgc": map[string]any{"name": "vh14w", "uuid": "5f0c1a2b-0000-4000-8000-000000000000"},
		"Tag":  []map[string]any{{"name": "tlp:white"}, {"name": galaxyTag}}, "Attribute": attrs, "Object": []any{}}}
	manifest := map[string]any{feedEventUUID: map[string]any{"info": feedEventInfo, "timestamp": ts,
		"Tag": []map[string]any{{"name": "tlp:white"}}}}
	evJSON, _ := json.Marshal(ev)
	manJSON, _ := json.Marshal(manifest)
	return map[string][]byte{"/feed/manifest.json": manJSON, "/feed/" + feedEventUUID + ".json": evJSON}
}

// restServer is a MISP instance's restSearch over TLS that wants key.
func restServer(t *testing.T, key string, attrs ...map[string]any) (url, caFile string) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/attributes/restSearch" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != key {
			http.Error(w, "bad key", http.StatusForbidden)
			return
		}
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		out := attrs
		if p, _ := req["page"].(float64); p > 1 {
			out = nil
		}
		for _, a := range out {
			a["Event"] = map[string]any{"uuid": "5f0c1a2b-3333-4000-8000-000000000000", "info": "vh14w rest event"}
		}
		json.NewEncoder(w).Encode(map[string]any{"response": map[string]any{"Attribute": out}})
	}))
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, caFile
}

// TestIntelIntoTheKernel runs the agent with two enforce-mode sources
// scoped to the test's cgroup — a MISP feed over HTTP and restSearch over
// TLS with an API key — and checks what their indicators do: a listed
// binary and a copy of it are killed (before they run, or late after a
// counted fail-open: see killedListed), connects to listed addresses fail
// with EPERM, a DNS query for a listed domain raises an alert, every alert
// carrying the indicator's provenance; a broken refresh keeps the set in
// force, and a refresh that drops the hash lets the binary run again.
func TestIntelIntoTheKernel(t *testing.T) {
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "vh14w-bad")
	// a binary of its own content, so that no other test's binary shares
	// its hash; sleep, so that a late kill has something to kill
	raw, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, []byte(fmt.Sprintf("vh14w-%d-%d", os.Getpid(), time.Now().UnixNano()))...)
	if err := os.WriteFile(bad, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	hexsum := hex.EncodeToString(sum[:])

	feed := &intelFeed{}
	ts := time.Now().Unix()
	feed.put(feedFiles(ts, mispAttr(feedHashUUID, "sha256", hexsum, ts), mispAttr(feedIPUUID, "ip-dst", badIP, ts),
		mispAttr(feedDNSUUID, "domain", badDomain, ts)))
	feedSrv := httptest.NewServer(feed)
	t.Cleanup(feedSrv.Close)
	const key = "vh14w-test-key"
	keyFile := filepath.Join(dir, "misp.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	restURL, caFile := restServer(t, key, mispAttr("5f0c1a2b-4444-4000-8000-000000000001", "ip-dst|port", restIP+"|9", ts))

	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	dnsPort := udp.LocalAddr().(*net.UDPAddr).Port

	sink := &alertSink{}
	in := IntelConfig{Intel: config.Intel{Scope: policy.Scope{Cgroup: cg.Rel()}, Sources: []intel.SourceConfig{
		{Name: "feed", Kind: intel.KindMISPFeed, URL: feedSrv.URL + "/feed/", Interval: time.Hour, Mode: policy.Enforce,
			Severity: event.SeverityCritical, Column: -1, Source: "test"},
		{Name: "rest", Kind: intel.KindMISP, URL: restURL, Interval: time.Hour, Mode: policy.Enforce,
			Severity: event.SeverityHigh, CAFile: caFile, KeyFile: keyFile, Column: -1, Source: "test"},
	}}}
	netCfg := network.DefaultConfig()
	netCfg.DNSPorts = []uint16{uint16(dnsPort)}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Sink: sink, Network: netCfg,
		Enforce: &EnforceConfig{PinDir: testenv.PinDir(t), StateDir: t.TempDir()}, Intel: &in,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{Agent: a, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.stop(t); a.Close() })

	waitEntries(t, a, "intel.feed", "sha256", 1)
	waitEntries(t, a, "intel.rest", "connect", 1)

	inCgroup := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
		return cmd
	}
	// the listed binary, and a copy under another name: killed at exec
	copyPath := filepath.Join(dir, "innocent-name")
	if err := os.WriteFile(copyPath, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{bad, copyPath} {
		al := killedListed(t, a, sink, inCgroup(exec.Command(bin, "60")))
		if al.Action != event.ActionKilled || al.Rule.Name != "intel.feed" || al.Rule.Severity != event.SeverityCritical {
			t.Errorf("%s: alert %+v", bin, al)
		}
		checkProvenance(t, al, "feed", "sha256", hexsum, feedHashUUID)
	}
	// a process outside the cgroup is not intel's to judge
	if out, err := exec.Command(bad, "0").CombinedOutput(); err != nil {
		t.Errorf("outside the scope: %v %s, want it to run", err, out)
	}

	connect := func(addr string) string {
		cmd := inCgroup(exec.Command(os.Args[0], "-test.run=^$"))
		cmd.Env = append(os.Environ(), intelHelperEnv+"=connect "+addr)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helper: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct{ addr, source, uuid string }{{badIP + ":9", "feed", feedIPUUID},
		{restIP + ":9", "rest", "5f0c1a2b-4444-4000-8000-000000000001"}} {
		if got := connect(c.addr); got != "EPERM" {
			t.Fatalf("connect %s: %s, want EPERM", c.addr, got)
		}
		al := sink.waitFor(t, func(al *event.Alert) bool {
			return al.Action == event.ActionDenied && al.Event.Network != nil && al.Event.Network.DAddr+":9" == c.addr
		})
		checkProvenance(t, al, c.source, "ip", "", c.uuid)
	}

	dns := inCgroup(exec.Command(os.Args[0], "-test.run=^$"))
	// five queries of one process: one alert, four held back and counted
	dns.Env = append(os.Environ(), fmt.Sprintf("%s=dns %d www.%s 5", intelHelperEnv, dnsPort, badDomain))
	if out, err := dns.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("dns helper: %v %s", err, out)
	}
	al := sink.waitFor(t, func(al *event.Alert) bool { return al.Event != nil && al.Event.DNS != nil })
	if al.Rule.Name != "intel.feed" || al.Event.DNS.Query != "www."+badDomain {
		t.Errorf("dns alert %+v", al)
	}
	checkProvenance(t, al, "feed", "domain", badDomain, feedDNSUUID)
	waitFor(t, "four DNS alerts held back by the throttle", func() bool { return a.IntelReport().DNSSuppressed == 4 })
	if n := sink.count(func(al *event.Alert) bool { return al.Event != nil && al.Event.DNS != nil }); n != 1 {
		t.Errorf("%d DNS alerts for five queries of one process, want 1", n)
	}

	// a broken refresh: the set in force stays, in the kernel too
	feed.put(map[string][]byte{"/feed/manifest.json": []byte(`{"truncated": `)})
	if err := a.IntelRefresh(context.Background(), "feed"); err == nil {
		t.Fatal("a truncated manifest was taken")
	}
	if got := connect(badIP + ":9"); got != "EPERM" {
		t.Errorf("after a broken refresh, connect %s: %s, want EPERM still", badIP, got)
	}
	// its inode is denied in the kernel since its first kill: no hold
	if err := runBounded(t, inCgroup(exec.Command(bad, "60"))); !killedBy(err, syscall.SIGKILL) {
		t.Errorf("after a broken refresh the listed binary: %v, want SIGKILL still", err)
	}
	rep := a.IntelReport()
	if rep.Sources[0].LastError == "" || rep.Sources[0].Failures == 0 {
		t.Errorf("the broken refresh is not reported: %+v", rep.Sources[0])
	}

	// a refresh without the hash: the binary runs again
	ts++
	feed.put(feedFiles(ts, mispAttr(feedIPUUID, "ip-dst", badIP, ts)))
	if err := a.IntelRefresh(context.Background(), "feed"); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, a, "intel.feed", "sha256", 0)
	if out, err := inCgroup(exec.Command(bad, "0")).CombinedOutput(); err != nil {
		t.Errorf("removed from the feed, the binary still fails: %v %s", err, out)
	}
	if got := connect(badIP + ":9"); got != "EPERM" {
		t.Errorf("connect %s after the refresh: %s, want EPERM (still listed)", badIP, got)
	}
	hits := map[string]uint64{}
	for _, h := range a.intel.hitCounts() {
		hits[h.Source+"/"+h.Type+"/"+h.Action] += h.Count
	}
	for _, k := range []string{"feed/sha256/killed", "feed/ip/denied", "rest/ip/denied", "feed/domain/alert"} {
		if hits[k] == 0 {
			t.Errorf("vigil_intel_hits_total has no %s: %v", k, hits)
		}
	}
}

// killedListed runs cmd, a listed binary that would sleep, and checks
// what the product guarantees for a hash-hold policy: the process is
// killed, and its alert says how. While the agent keeps its heartbeat
// fresh the kernel holds the exec and the kill comes before the first
// instruction; an agent starved longer than the heartbeat's bound (a
// loaded machine) makes the kernel fail open, which is counted
// (vigil_exec_holds_total not_held or expired), and the agent's late
// verdict kills the running process from user space, counted late. No
// timing is assumed: either way is a pass, a binary that survives is not.
func killedListed(t *testing.T, a *Agent, sink *alertSink, cmd *exec.Cmd) *event.Alert {
	t.Helper()
	if err := runBounded(t, cmd); !killedBy(err, syscall.SIGKILL) {
		t.Fatalf("%s: %v, want SIGKILL", cmd.Path, err)
	}
	al := sink.waitFor(t, func(al *event.Alert) bool {
		return al.Event != nil && al.Event.Process != nil && int(al.Event.Process.PID) == cmd.Process.Pid
	})
	enf := al.Event.Enforcement
	if enf == nil {
		t.Fatalf("%s: alert %+v without its enforcement", cmd.Path, al)
	}
	if enf.Mechanism == event.MechanismKernel {
		return al // held, hashed, killed before it ran
	}
	st, ok := a.enforcer.HoldExpiry()
	if late := a.enforcer.Stats().HoldsLate.Load(); !ok || late == 0 || st.NotHeld+st.Expired == 0 {
		t.Errorf("%s: killed from user space (%s), but no fail-open counted: late %d, kernel %+v",
			cmd.Path, enf.Hook, late, st)
	}
	t.Logf("%s: killed late, after a counted fail-open: %s", cmd.Path, enf.Hook)
	return al
}

// runBounded runs cmd to its end; one still running after waitLimit is
// killed (it is the test's, by pid) and fails the test.
func runBounded(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var timedOut atomic.Bool
	stuck := time.AfterFunc(waitLimit, func() {
		timedOut.Store(true)
		_ = cmd.Process.Kill()
	})
	err := cmd.Wait()
	stuck.Stop()
	if timedOut.Load() {
		t.Fatalf("%s still ran after %v", cmd.Path, waitLimit)
	}
	return err
}

// waitEntries waits until the named policy has n kernel entries of part.
func waitEntries(t *testing.T, a *Agent, name, part string, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		for _, p := range a.enforcer.Policies() {
			if p.Name == name && p.Entries[part] == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy %s never had %d %s entries: %+v; intel %+v", name, n, part, a.enforcer.Policies(), a.IntelReport())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkProvenance(t *testing.T, al *event.Alert, source, typ, value, attrUUID string) {
	t.Helper()
	if len(al.Intel) == 0 {
		t.Errorf("alert %q has no provenance", al.Message)
		return
	}
	m := al.Intel[0]
	if m.Source != source || m.Type != typ || (value != "" && m.Value != value) || m.AttributeUUID != attrUUID ||
		m.EventUUID == "" || m.EventInfo == "" {
		t.Errorf("provenance %+v, want source %s type %s value %s attribute %s", m, source, typ, value, attrUUID)
	}
	if source == "feed" {
		if m.EventUUID != feedEventUUID || !contains(m.Tags, "tlp:white") || !contains(al.Rule.MITRE, "T1071") {
			t.Errorf("feed provenance %+v, rule %+v: want the event, tlp:white and T1071", m, al.Rule)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
