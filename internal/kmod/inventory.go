package kmod

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kinds of module.
const (
	KindLoaded  = "loaded"
	KindBuiltin = "builtin"
)

// Inventory is every module the kernel knows.
type Inventory struct {
	// Release is the kernel release (uname -r) whose /lib/modules was read.
	Release string `json:"release"`
	// ModulesSupported says the kernel can load modules (it has
	// /proc/modules); when false only built-in modules exist.
	ModulesSupported bool `json:"modules_supported"`
	// ModulesDisabled is /proc/sys/kernel/modules_disabled: no more loads
	// until reboot.
	ModulesDisabled bool `json:"modules_disabled"`
	// SigEnforce is /sys/module/module/parameters/sig_enforce: "Y" when
	// the kernel refuses modules without a valid signature, "N" when it
	// loads them (tainting it E), "" when it does not check signatures.
	SigEnforce string `json:"sig_enforce,omitempty"`
	// Tainted is /proc/sys/kernel/tainted, Taints its flags by name.
	Tainted uint64   `json:"tainted"`
	Taints  []string `json:"taints"`
	Modules []Module `json:"modules"`
	// Loads are the module loads, and attempts, the agent saw, oldest
	// first (a bounded record: the last ones).
	Loads []Load `json:"loads_seen,omitempty"`
	// Problems are what could not be read, by file (and line).
	Problems []string `json:"problems,omitempty"`
}

// Module is one module.
type Module struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // KindLoaded or KindBuiltin
	// State is /proc/modules' Live, Loading or Unloading for a loaded
	// module, "builtin" for a built-in one.
	State    string   `json:"state"`
	Size     uint64   `json:"size,omitempty"`
	Refcount int      `json:"refcount"` // -1: not counted
	Deps     []string `json:"deps,omitempty"`
	Address  string   `json:"address,omitempty"`
	// Taint is the module's taint letters, Taints their names.
	Taint      string   `json:"taint,omitempty"`
	Taints     []string `json:"taints,omitempty"`
	Version    string   `json:"version,omitempty"`
	SrcVersion string   `json:"srcversion,omitempty"`
	// Description, Author and License come from the module's .modinfo
	// (its file's, or modules.builtin.modinfo's).
	Description string `json:"description,omitempty"`
	Author      string `json:"author,omitempty"`
	License     string `json:"license,omitempty"`
	// File is the .ko file modules.dep names for a loaded module.
	File *File `json:"file,omitempty"`
	// Sources say where a built-in module was found: "sysfs",
	// "modules.builtin".
	Sources []string `json:"sources,omitempty"`
	// Load is how vigil saw the module load, when it did.
	Load *Load `json:"load,omitempty"`
}

// Load is a module load the agent saw.
type Load struct {
	// Name is the module's: the kernel's where it said (module/module_load),
	// else the one finit_module's file name gives; "" for init_module
	// on a kernel without that tracepoint.
	Name    string    `json:"name,omitempty"`
	Time    time.Time `json:"time"`
	PID     uint32    `json:"pid"`
	UID     uint32    `json:"uid"`
	Binary  string    `json:"binary,omitempty"`
	Syscall string    `json:"syscall"`
	Path    string    `json:"path,omitempty"`
	// Error is the call's error name ("" when it loaded).
	Error string `json:"error,omitempty"`
}

// Options tune Read.
type Options struct {
	// Release is the kernel release to read /lib/modules for; "" reads
	// root's /proc/sys/kernel/osrelease.
	Release string
	// NoFiles skips hashing and reading the loaded modules' files.
	NoFiles bool
}

// Read reads the inventory under root ("/" for this machine).
func Read(root string, opts Options) *Inventory {
	r := reader{root: root, inv: &Inventory{}, mods: map[string]*Module{}}
	r.kernel(opts.Release)
	r.procModules()
	r.sysModules()
	dir := path.Join("/lib/modules", r.inv.Release)
	r.builtin(dir)
	if !opts.NoFiles {
		r.files(dir)
	}
	for _, m := range r.mods {
		ts := TaintsOfLetters(m.Taint)
		m.Taint, m.Taints = TaintLetters(ts), TaintNames(ts)
		r.inv.Modules = append(r.inv.Modules, *m)
	}
	slices.SortFunc(r.inv.Modules, func(a, b Module) int { return strings.Compare(a.Name, b.Name) })
	return r.inv
}

type reader struct {
	root string
	inv  *Inventory
	mods map[string]*Module
}

// file reads root+name; a missing file is (nil, false) and no problem.
func (r *reader) file(name string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(r.root, name))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.problem("%s: %v", name, err)
		}
		return nil, false
	}
	return b, true
}

func (r *reader) problem(format string, args ...any) {
	r.inv.Problems = append(r.inv.Problems, fmt.Sprintf(format, args...))
}

func (r *reader) kernel(release string) {
	if release == "" {
		b, _ := r.file("/proc/sys/kernel/osrelease")
		release = strings.TrimSpace(string(b))
	}
	r.inv.Release = release
	if b, ok := r.file("/proc/sys/kernel/tainted"); ok {
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			r.problem("/proc/sys/kernel/tainted: %q is not a decimal bitmask", strings.TrimSpace(string(b)))
		}
		r.inv.Tainted = v
	}
	r.inv.Taints = TaintNames(TaintsOfMask(r.inv.Tainted))
	if b, ok := r.file("/proc/sys/kernel/modules_disabled"); ok {
		r.inv.ModulesDisabled = strings.TrimSpace(string(b)) == "1"
	}
	if b, ok := r.file("/sys/module/module/parameters/sig_enforce"); ok {
		r.inv.SigEnforce = strings.TrimSpace(string(b))
	}
}

// procModules reads /proc/modules.
func (r *reader) procModules() {
	const name = "/proc/modules"
	b, ok := r.file(name)
	if !ok {
		return
	}
	r.inv.ModulesSupported = true
	loaded, err := ParseProcModules(bytes.NewReader(b), name)
	if err != nil {
		r.problem("%v", err)
	}
	for _, l := range loaded {
		r.mods[l.Name] = &Module{Name: l.Name, Kind: KindLoaded, State: l.State, Size: l.Size,
			Refcount: l.Refcount, Deps: l.Deps, Address: l.Address, Taint: l.Taint}
	}
}

// sysModules reads /sys/module: a directory with an initstate file is a
// loadable module, one without is built in (it shows there because it
// has parameters or a version).
func (r *reader) sysModules() {
	const dir = "/sys/module"
	ents, err := os.ReadDir(filepath.Join(r.root, dir))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.problem("%s: %v", dir, err)
		}
		return
	}
	for _, e := range ents {
		name := e.Name()
		base := path.Join(dir, name)
		read := func(f string) string {
			b, _ := r.file(path.Join(base, f))
			return strings.TrimSpace(string(b))
		}
		m := r.mods[name]
		state, hasInit := r.file(path.Join(base, "initstate"))
		switch {
		case m != nil:
		case hasInit: // loadable, but /proc/modules did not list it
			m = &Module{Name: name, Kind: KindLoaded, State: strings.TrimSpace(string(state)), Refcount: -1}
			r.mods[name] = m
			if n, err := strconv.Atoi(read("refcnt")); err == nil {
				m.Refcount = n
			}
		default:
			m = &Module{Name: name, Kind: KindBuiltin, State: KindBuiltin, Refcount: -1, Sources: []string{"sysfs"}}
			r.mods[name] = m
		}
		if m.Kind == KindLoaded && m.Taint == "" {
			m.Taint = read("taint")
		}
		m.Version, m.SrcVersion = read("version"), read("srcversion")
	}
}

// builtin reads modules.builtin (one path per line) and
// modules.builtin.modinfo.
func (r *reader) builtin(dir string) {
	name := path.Join(dir, "modules.builtin")
	if b, ok := r.file(name); ok {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if !strings.HasSuffix(line, ".ko") {
				r.problem("%s:%d: %q is not a module path (….ko)", name, n, line)
				continue
			}
			mod := NameOfPath(line)
			m := r.mods[mod]
			if m == nil {
				m = &Module{Name: mod, Kind: KindBuiltin, State: KindBuiltin, Refcount: -1}
				r.mods[mod] = m
			}
			if m.Kind == KindBuiltin {
				m.Sources = append(m.Sources, "modules.builtin")
			}
		}
	}
	if b, ok := r.file(path.Join(dir, "modules.builtin.modinfo")); ok {
		for mod, info := range ParseBuiltinModinfo(b) {
			if m := r.mods[mod]; m != nil && m.Kind == KindBuiltin {
				m.setModinfo(info)
			}
		}
	}
}

func (m *Module) setModinfo(info map[string]string) {
	m.Description, m.Author, m.License = info["description"], info["author"], info["license"]
	if m.Version == "" {
		m.Version = info["version"]
	}
	if m.SrcVersion == "" {
		m.SrcVersion = info["srcversion"]
	}
}

// files finds each loaded module's file in modules.dep ("path: deps…",
// paths relative to dir unless absolute) and reads it.
func (r *reader) files(dir string) {
	name := path.Join(dir, "modules.dep")
	b, ok := r.file(name)
	if !ok {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		ko, _, ok := strings.Cut(line, ":")
		if !ok {
			r.problem("%s:%d: no ':' after the module's path", name, n)
			continue
		}
		m := r.mods[NameOfPath(ko)]
		if m == nil || m.Kind != KindLoaded || m.File != nil {
			continue
		}
		if !path.IsAbs(ko) {
			ko = path.Join(dir, ko)
		}
		f, err := ReadFile(filepath.Join(r.root, ko))
		if err != nil {
			r.problem("%s: %v", ko, err)
			continue
		}
		f.Path = ko
		m.File = &f
		m.setModinfo(f.Modinfo)
	}
}

// CountByTaint counts modules by kind and taint name; an untainted module
// counts under "none", one with two taints under each.
func (inv *Inventory) CountByTaint() map[[2]string]int {
	out := map[[2]string]int{}
	for _, m := range inv.Modules {
		if len(m.Taints) == 0 {
			out[[2]string{m.Kind, "none"}]++
		}
		for _, t := range m.Taints {
			out[[2]string{m.Kind, t}]++
		}
	}
	return out
}
