package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/webhook"
	"github.com/vigil-sec/vigil/internal/sensor/process"
)

const full = `
outputs:
  - stdout:
      format: text
  - name: archive
    file:
      path: /var/log/vigil/events.json
      max_size: 50MiB
      max_backups: 3
      compress: false
  - syslog:
      address: udp://127.0.0.1:514
      facility: authpriv
    filter:
      min_severity: medium
  - name: sidekick
    webhook:
      url: http://127.0.0.1:2801/
      payload: falco
      timeout: 5s
      max_backoff: 1m
      auth:
        bearer_token: abc
    filter:
      rules: ["shell_*"]
      kinds: [process_exec]
    queue: 500
metrics:
  address: 127.0.0.1:9549
  bpf_stats: true
api:
  socket: /tmp/vigil.sock
rules:
  paths: [/etc/vigil/rules, local.d]
  default_rules: false
  throttle:
    burst: 5
    refill: 30s
    rule_burst: 50
    rule_refill: 0s
sensors:
  file:
    watch: [/srv]
`

func TestFullConfig(t *testing.T) {
	c, err := Parse("vigil.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Outputs) != 4 {
		t.Fatalf("%d outputs", len(c.Outputs))
	}
	std, arch, sys, hook := c.Outputs[0], c.Outputs[1], c.Outputs[2], c.Outputs[3]
	if std.Name != "stdout" || std.Stdout.Format != output.FormatText || !std.Filter.Events || !std.Filter.Alerts {
		t.Errorf("stdout %+v", std)
	}
	if arch.Name != "archive" || arch.File.MaxSize != 50<<20 || arch.File.MaxBackups != 3 || arch.File.Compress {
		t.Errorf("file %+v %+v", arch, arch.File)
	}
	if sys.Syslog.Facility != 10 || sys.Filter.Events || sys.Filter.MinSeverity != event.SeverityMedium {
		t.Errorf("syslog %+v %+v", sys, sys.Syslog)
	}
	w := hook.Webhook
	if hook.Name != "sidekick" || hook.Queue != 500 || w.Payload != webhook.PayloadFalco || w.Timeout != 5*time.Second ||
		w.MaxBackoff != time.Minute || w.BearerToken != "abc" {
		t.Errorf("webhook %+v %+v", hook, w)
	}
	if hook.Filter.Events || !hook.Filter.Alerts || hook.Filter.Rules[0] != "shell_*" || hook.Filter.Kinds[0] != event.KindProcessExec {
		t.Errorf("webhook filter %+v", hook.Filter)
	}
	if c.Metrics.Address != "127.0.0.1:9549" || !c.Metrics.BPFStats || c.API.Socket != "/tmp/vigil.sock" {
		t.Errorf("metrics %+v api %+v", c.Metrics, c.API)
	}
	r := c.Rules
	if len(r.Paths) != 2 || r.Paths[0] != "/etc/vigil/rules" || r.Paths[1] != "local.d" || r.DefaultRules == nil || *r.DefaultRules {
		t.Errorf("rules %+v", r)
	}
	th := r.Throttle
	if th.Burst == nil || *th.Burst != 5 || th.Refill == nil || *th.Refill != 30*time.Second ||
		th.RuleBurst == nil || *th.RuleBurst != 50 || th.RuleRefill == nil || *th.RuleRefill != 0 {
		t.Errorf("rules.throttle %+v", th)
	}
	if c.Sections["sensors"] == nil || c.Sections["sensors"].Line != 42 {
		t.Errorf("sensors section not kept with its position: %+v", c.Sections["sensors"])
	}
}

// TestErrorsNameFileLineAndField: each mistake is reported where it is,
// with what would be valid.
func TestErrorsNameFileLineAndField(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want string
	}{
		{"outputs:\n  - stdout:\n  - webhook:\n      url: siem.example.com/hook\n",
			"config.yaml:4: outputs[1].webhook.url: missing scheme: want http:// or https://"},
		{"outputs:\n  - file:\n      path: /x\n      max_size: big\n",
			`config.yaml:4: outputs[0].file.max_size: "big" is not a size`},
		{"outputs:\n  - stdout:\n    syslog:\n",
			"config.yaml:3: outputs[0].syslog: an output has one sink: this one is already stdout"},
		{"outputs:\n  - name: a\n",
			"config.yaml:2: outputs[0]: no sink: add one of stdout, file, syslog, webhook"},
		{"outputs:\n  - stdout:\n    filter:\n      min_severity: urgent\n",
			`config.yaml:4: outputs[0].filter.min_severity: severity "urgent": want info, low, medium, high or critical`},
		{"outputs:\n  - stdout:\n    filter:\n      kinds: [process_exe]\n",
			`config.yaml:4: outputs[0].filter.kinds[0]: unknown event kind "process_exe"`},
		{"outputs:\n  - webhook:\n      url: http://h/\n      payload: falco\n    filter:\n      events: true\n",
			"outputs[0].filter.events: the falco payload carries alerts only"},
		{"outputs:\n  - stdout:\n    name: x\n  - file: {path: /x}\n    name: x\n",
			`config.yaml:4: outputs[1].name: "x" is already the name of outputs[0]`},
		{"metrics:\n  address: 0.0.0.0:9549\n",
			`config.yaml:2: metrics.address: "0.0.0.0:9549" is not a loopback address`},
		{"metrics:\n  adress: 127.0.0.1:1\n",
			"config.yaml:2: metrics.adress: unknown field; valid fields here: address, allow_non_loopback, bpf_stats, k8s_labels"},
		{"metrics:\n  k8s_labels: [namespace, node]\n",
			`config.yaml:2: metrics.k8s_labels: "node" is not a pod label: want namespace, pod or workload (or none)`},
		{"outptus: []\n", "config.yaml:1: outptus: unknown field"},
		{"outputs:\n  - syslog:\n      address: 10.0.0.1:514\n",
			`config.yaml:3: outputs[0].syslog.address: syslog address "10.0.0.1:514"`},
		{"outputs:\n  - webhook:\n      url: http://h/\n      auth:\n        password: x\n",
			"config.yaml:5: outputs[0].webhook.auth.username: missing: a password goes with a username"},
		{"outputs:\n  - file:\n      path: /x\n      max_backups: -1\n",
			"config.yaml:4: outputs[0].file.max_backups: -1 is too small: want at least 0"},
		{"outputs: {stdout: {}}\n", "config.yaml:1: outputs: want a list, got a mapping"},
	} {
		_, err := Parse("config.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config\n%s\nerror %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
	}
}

func TestEveryErrorIsReported(t *testing.T) {
	_, err := Parse("c.yaml", []byte("outputs:\n  - file: {}\n  - webhook: {url: x}\napi: {sock: y}\n"))
	if err == nil {
		t.Fatal("accepted")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Errorf("%d errors reported, want 3:\n%v", n, err)
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("c.yaml", []byte("outputs:\n  - webhook:\n      url: https://h/\n      auth:\n        bearer_token_file: "+tok+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Outputs[0].Webhook.BearerToken; got != "s3cret" {
		t.Errorf("token %q", got)
	}
	_, err = Parse("c.yaml", []byte("outputs:\n  - webhook:\n      url: https://h/\n      auth:\n        bearer_token_file: "+dir+"/missing\n"))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:5: outputs[0].webhook.auth.bearer_token_file:") {
		t.Errorf("missing token file: %v", err)
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "---\n"} {
		c, err := Parse("c.yaml", []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.API.Socket != DefaultSocket || len(c.Outputs) != 0 {
			t.Errorf("%q: %+v", in, c)
		}
	}
}

// TestDocumentedExample parses the full example in docs/configuration.md,
// so that the documentation cannot drift from the code.
func TestDocumentedExample(t *testing.T) {
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- example -->\\s*```yaml\n(.*?)```").FindSubmatch(raw)
	if m == nil {
		t.Fatal("docs/configuration.md has no ```yaml block after <!-- example -->")
	}
	dir := t.TempDir()
	// the example reads its token from a file
	example := strings.ReplaceAll(string(m[1]), "/etc/vigil/siem.token", filepath.Join(dir, "token"))
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("configuration.md", []byte(example))
	if err != nil {
		t.Fatalf("the documented example does not load:\n%v", err)
	}
	types := map[string]bool{}
	for _, o := range c.Outputs {
		types[o.Type] = true
	}
	for _, want := range []string{TypeStdout, TypeFile, TypeSyslog, TypeWebhook} {
		if !types[want] {
			t.Errorf("the example shows no %s output", want)
		}
	}
}

func TestParseSize(t *testing.T) {
	// every unit is binary: KB, K and KiB are all 1024 bytes
	for in, want := range map[string]int64{
		"4096": 4096, "0": 0, "10B": 10, "2 KiB": 2 << 10, "2K": 2 << 10, "2KB": 2 << 10,
		"100MiB": 100 << 20, "8M": 8 << 20, "8MB": 8 << 20, "1GiB": 1 << 30, "1G": 1 << 30, "3GB": 3 << 30,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "+1", "1.5MiB", "ten", "8mb", "8Mi", "8TB", "9999999999GiB"} {
		_, err := ParseSize(bad)
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(bad)) {
			t.Errorf("ParseSize(%q): %v, want an error quoting it", bad, err)
		}
	}
}

// TestSizeFieldError: a bad size names the file, line and field, and says
// which units are valid.
func TestSizeFieldError(t *testing.T) {
	_, err := Parse("vigil.yaml", []byte("outputs:\n  - file:\n      path: /tmp/x\n      max_size: 8 apples\n"))
	want := `vigil.yaml:4: outputs[0].file.max_size: "8 apples" is not a size: want ` + SizeUnits
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %s", err, want)
	}
	c, err := Parse("vigil.yaml", []byte("outputs:\n  - file:\n      path: /tmp/x\n      max_size: 8MB\n"))
	if err != nil || c.Outputs[0].File.MaxSize != 8<<20 {
		t.Errorf("max_size: 8MB: %v, %+v; want 8MiB", err, c)
	}
}

// TestMetricsPodLabels: the pod labels of alert metrics come from the
// file or, over it, from --metrics-k8s-labels; none by default.
func TestMetricsPodLabels(t *testing.T) {
	c, err := Parse("config.yaml", []byte("metrics:\n  k8s_labels: [namespace, workload]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Metrics.PodLabels; !l.Namespace || l.Pod || !l.Workload {
		t.Errorf("file: %+v, want namespace and workload", l)
	}
	flag := []string{"pod"}
	if err := c.Apply(Overrides{MetricsK8sLabels: &flag}); err != nil {
		t.Fatal(err)
	}
	if l := c.Metrics.PodLabels; l.Namespace || !l.Pod || l.Workload {
		t.Errorf("flag over file: %+v, want pod alone", l)
	}
	bad := []string{"namespace,labels"}
	if err := c.Apply(Overrides{MetricsK8sLabels: &bad}); err == nil || !strings.Contains(err.Error(), `--metrics-k8s-labels: "labels" is not a pod label`) {
		t.Errorf("bad flag: %v", err)
	}
	if d := Default(); d.Metrics.PodLabels.Any() {
		t.Errorf("default %+v: want no pod labels", d.Metrics.PodLabels)
	}
}

// TestDropsInterval: 10s by default, the file's value, the flag over it,
// 0 allowed (no records), a bad value named by file, line and field.
func TestDropsInterval(t *testing.T) {
	if got := Default().Drops.Interval; got != DefaultDropsInterval {
		t.Errorf("default %v, want %v", got, DefaultDropsInterval)
	}
	c, err := Parse("vigil.yaml", []byte("drops:\n  interval: 30s\n"))
	if err != nil || c.Drops.Interval != 30*time.Second {
		t.Fatalf("interval: 30s: %v, %+v", err, c.Drops)
	}
	off := time.Duration(0)
	if err := c.Apply(Overrides{DropsInterval: &off}); err != nil || c.Drops.Interval != 0 {
		t.Errorf("--drops-interval 0: %v, %v", err, c.Drops.Interval)
	}
	neg := -time.Second
	if err := c.Apply(Overrides{DropsInterval: &neg}); err == nil || !strings.Contains(err.Error(), "--drops-interval") {
		t.Errorf("--drops-interval -1s: %v", err)
	}
	if c, err := Parse("vigil.yaml", []byte("outputs: []\n")); err != nil || c.Drops.Interval != DefaultDropsInterval {
		t.Errorf("no drops section: %v, %+v", err, c)
	}
	_, err = Parse("vigil.yaml", []byte("drops:\n  interval: often\n"))
	if err == nil || !strings.Contains(err.Error(), `vigil.yaml:2: drops.interval: "often" is not a duration`) {
		t.Errorf("bad interval: %v", err)
	}
	_, err = Parse("vigil.yaml", []byte("drops:\n  every: 1s\n"))
	if err == nil || !strings.Contains(err.Error(), "drops.every") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestProcessEnv: sensors.process.env replaces or extends the watched
// names, and every mistake names its line and field.
func TestProcessEnv(t *testing.T) {
	c, err := Parse("vigil.yaml", []byte("sensors:\n  file:\n    watch: [/srv]\n  process:\n    env:\n      add: [V17X_A]\n      max_vars: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := c.ProcessEnv
	def := process.DefaultEnv()
	if !slices.Equal(env.Names, append(def.Names, "V17X_A")) || env.MaxVars != 4 || env.MaxBytes != def.MaxBytes {
		t.Errorf("env %+v", env)
	}
	if c, err := Parse("vigil.yaml", []byte("sensors:\n  process:\n    env:\n      names: []\n")); err != nil || c.ProcessEnv.Names == nil || len(c.ProcessEnv.Names) != 0 {
		t.Errorf("names: [] gives %+v, %v; want an empty, non-nil list", c, err)
	}
	if c, _ := Parse("vigil.yaml", nil); !slices.Equal(c.ProcessEnv.Names, def.Names) {
		t.Errorf("no file: names %v, want the defaults", c.ProcessEnv.Names)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"sensors:\n  process:\n    env:\n      names: [LD_PRELOAD, A=B]\n", `vigil.yaml:4: sensors.process.env.names[1]: "A=B": a name holds no '=' or NUL`},
		{"sensors:\n  process:\n    env:\n      add: [LD_PRELOAD]\n", `vigil.yaml:4: sensors.process.env.add[0]: "LD_PRELOAD" is already watched`},
		{"sensors:\n  process:\n    env:\n      max_bytes: 5000\n", `vigil.yaml:4: sensors.process.env.max_bytes: 5000 is too large: want at most 4096`},
		{"sensors:\n  process:\n    envs: {}\n", `vigil.yaml:3: sensors.process.envs: unknown field; valid fields here: env`},
	} {
		_, err := Parse("vigil.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
