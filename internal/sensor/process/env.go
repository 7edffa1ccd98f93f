package process

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
)

// Env says which environment variables exec events carry. The kernel
// reads the new image's environment at exec and lets out only the
// variables named here, at most MaxVars of them and MaxBytes in all
// (NAME=value and a NUL each); what the bounds leave out is flagged and
// counted (docs/events.md, process.env).
type Env struct {
	// Names are the watched variable names; none switches the scan off.
	Names []string
	// MaxVars is how many variables one exec reports at most.
	MaxVars int
	// MaxBytes is how many bytes they take at most.
	MaxBytes int
}

// Bounds of Env that the kernel object is built for.
const (
	EnvNamesMax   = 64   // ENV_NAMES_MAX
	EnvNameMaxLen = 31   // ENV_NAME_LEN less the NUL
	EnvVarsMax    = 64   // ENV_VARS_MAX
	EnvBytesMax   = 4096 // ENV_BYTES_MAX
)

// DefaultEnv watches the variables that change how a program loads, where
// it connects, and whether a shell keeps history: what rules look for.
func DefaultEnv() Env {
	return Env{
		Names: []string{
			// the dynamic loader
			"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG", "GLIBC_TUNABLES",
			// proxies
			"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
			// shell history and start-up
			"HISTFILE", "HISTCONTROL", "HISTSIZE", "HISTFILESIZE", "HISTIGNORE", "PROMPT_COMMAND", "BASH_ENV", "ENV",
			// interpreters' start-up hooks
			"PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "NODE_OPTIONS", "PERL5OPT", "PERL5LIB", "RUBYOPT",
			"JAVA_TOOL_OPTIONS",
		},
		MaxVars:  16,
		MaxBytes: 2048,
	}
}

// Check says what is wrong with e, if anything.
func (e Env) Check() error {
	var errs []error
	if len(e.Names) > EnvNamesMax {
		errs = append(errs, fmt.Errorf("%d names: at most %d", len(e.Names), EnvNamesMax))
	}
	for i, n := range e.Names {
		if err := CheckEnvName(n); err != nil {
			errs = append(errs, fmt.Errorf("names[%d]: %w", i, err))
		} else if slices.Index(e.Names, n) < i {
			errs = append(errs, fmt.Errorf("names[%d]: %q listed twice", i, n))
		}
	}
	if e.MaxVars < 0 || e.MaxVars > EnvVarsMax {
		errs = append(errs, fmt.Errorf("max_vars %d: want 0 to %d", e.MaxVars, EnvVarsMax))
	}
	if e.MaxBytes < 0 || e.MaxBytes > EnvBytesMax {
		errs = append(errs, fmt.Errorf("max_bytes %d: want 0 to %d", e.MaxBytes, EnvBytesMax))
	}
	return errors.Join(errs...)
}

// CheckEnvName says what is wrong with a watched variable name, if anything.
func CheckEnvName(n string) error {
	switch {
	case n == "" || len(n) > EnvNameMaxLen:
		return fmt.Errorf("%q: want a name of 1 to %d bytes", n, EnvNameMaxLen)
	case strings.ContainsAny(n, "=\x00"):
		return fmt.Errorf("%q: a name holds no '=' or NUL", n)
	}
	return nil
}

// on says whether the kernel scans the environment at all.
func (e Env) on() bool { return len(e.Names) > 0 && e.MaxVars > 0 && e.MaxBytes > 0 }

// knobs are the const volatile bounds; 0 variables switches the scan off.
func (e Env) knobs() map[string]any {
	if !e.on() {
		return map[string]any{processVarEnvMaxVars: uint32(0), processVarEnvMaxBytes: uint32(0)}
	}
	return map[string]any{processVarEnvMaxVars: uint32(e.MaxVars), processVarEnvMaxBytes: uint32(e.MaxBytes)}
}

// fill puts the watched names into the spec's env_names map, so that they
// are in place before any program runs.
func (e Env) fill(spec *ebpf.CollectionSpec) {
	if !e.on() {
		return
	}
	m := spec.Maps[processMapEnvNames]
	m.Contents = m.Contents[:0]
	for _, n := range e.Names {
		var key processEnvName
		for i := range len(n) {
			key.Name[i] = int8(n[i])
		}
		m.Contents = append(m.Contents, ebpf.MapKV{Key: key, Value: uint8(1)})
	}
}

// splitEnv turns the kernel's NUL-separated NAME=value strings into a map.
// A name set twice keeps its last value, the one the dynamic loader uses.
func splitEnv(vars []string) map[string]string {
	if len(vars) == 0 {
		return nil
	}
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		if name, value, ok := strings.Cut(v, "="); ok && name != "" {
			m[name] = value
		}
	}
	return m
}
