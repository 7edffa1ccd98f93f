package config

import (
	"fmt"
	"strings"
	"testing"
)

func str(s string) *string { return &s }

// summary is each output as name:type:format:filter, for comparisons.
func summary(outs []Output) string {
	var parts []string
	for _, o := range outs {
		format, where := "", ""
		switch {
		case o.Stdout != nil:
			format = string(o.Stdout.Format)
		case o.File != nil:
			format, where = string(o.File.Format), "@"+o.File.Path
		}
		what := "events+alerts"
		switch {
		case !o.Filter.Events:
			what = "alerts"
		case !o.Filter.Alerts:
			what = "events"
		}
		parts = append(parts, fmt.Sprintf("%s:%s%s:%s:%s", o.Name, o.Type, where, format, what))
	}
	return strings.Join(parts, " ")
}

// TestOutputFlagsKeepConfiguredOutputs: --output, --format and --events
// never drop an output of the file: they change its stdout output, or
// add one; what cannot be merged is refused with the file, line, field.
func TestOutputFlagsKeepConfiguredOutputs(t *testing.T) {
	const fileOnly = "outputs:\n  - file:\n      path: /var/log/e.json\n"
	const stdoutAlerts = "outputs:\n  - stdout:\n      format: text\n    filter:\n      events: false\n  - file:\n      path: /var/log/e.json\n"
	for _, c := range []struct {
		name, config string
		o            Overrides
		want         string
	}{
		{"no outputs, no flags: the flags' defaults", "", Overrides{DefaultEvents: "alerts"},
			"stdout:stdout::alerts"},
		{"no outputs: the flags make the only one", "", Overrides{Output: str("/tmp/x.json"), Events: str("all")},
			"file:file@/tmp/x.json:json:events+alerts"},
		{"file output, no flags: unchanged", fileOnly, Overrides{DefaultEvents: "alerts"},
			"file:file@/var/log/e.json:json:events+alerts"},
		{"file output and --events all: stdout added, the file kept", fileOnly, Overrides{Events: str("all"), DefaultEvents: "all"},
			"file:file@/var/log/e.json:json:events+alerts stdout:stdout::events+alerts"},
		{"file output and --format: stdout added with the default events", fileOnly, Overrides{Format: str("json"), DefaultEvents: "alerts"},
			"file:file@/var/log/e.json:json:events+alerts stdout:stdout:json:alerts"},
		{"stdout output and --events all: that output takes events too", stdoutAlerts, Overrides{Events: str("all"), DefaultEvents: "all"},
			"stdout:stdout:text:events+alerts file:file@/var/log/e.json:json:events+alerts"},
		{"stdout output and --format: its format changes, not its filter", stdoutAlerts, Overrides{Format: str("json")},
			"stdout:stdout:json:alerts file:file@/var/log/e.json:json:events+alerts"},
		{"stdout output and --output: it writes to the file instead", stdoutAlerts, Overrides{Output: str("/tmp/x.json")},
			"file-flag:file@/tmp/x.json:text:alerts file:file@/var/log/e.json:json:events+alerts"},
		{"--output names a new name when free", "outputs:\n  - stdout:\n", Overrides{Output: str("/tmp/x.json")},
			"file:file@/tmp/x.json:json:events+alerts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("vigil.yaml", []byte(c.config))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Apply(c.o); err != nil {
				t.Fatal(err)
			}
			if got := summary(cfg.Outputs); got != c.want {
				t.Errorf("outputs\n  %s\nwant\n  %s", got, c.want)
			}
		})
	}
}

func TestOutputFlagsRefuseWhatCannotMerge(t *testing.T) {
	for _, c := range []struct {
		name, config string
		o            Overrides
		want         string
	}{
		{"--events all over a stdout output keeping some kinds",
			"outputs:\n  - stdout:\n    filter:\n      kinds: [process_exec]\n", Overrides{Events: str("all")},
			"--events all: vigil.yaml:2: outputs[0].filter.kinds keeps only some of them"},
		{"--events alerts over a stdout output of some rules",
			"outputs:\n  - file:\n      path: /x\n  - stdout:\n    filter:\n      rules: [shell_*]\n", Overrides{Events: str("alerts")},
			"--events alerts: vigil.yaml:4: outputs[1].filter.rules keeps only some of them"},
		{"--output onto a file the config writes",
			"outputs:\n  - name: archive\n    file:\n      path: /var/log/e.json\n", Overrides{Output: str("/var/log/./e.json")},
			"--output /var/log/./e.json: vigil.yaml:2: outputs[0].file.path writes that file already"},
		{"two stdout outputs: which one?",
			"outputs:\n  - stdout:\n  - name: two\n    stdout:\n", Overrides{Format: str("json")},
			"it has two: vigil.yaml:2: outputs[0] and vigil.yaml:3: outputs[1]"},
		{"bad --events", "outputs:\n  - stdout:\n", Overrides{Events: str("some")}, `--events "some": want all or alerts`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("vigil.yaml", []byte(c.config))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Apply(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Apply: %v\nwant an error with %s", err, c.want)
			}
		})
	}
}
