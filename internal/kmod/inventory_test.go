package kmod

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func byName(inv *Inventory) map[string]Module {
	out := map[string]Module{}
	for _, m := range inv.Modules {
		out[m.Name] = m
	}
	return out
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestReadFixture reads testdata/root, a tree in the formats of
// /proc/modules, /sys/module and /lib/modules/RELEASE.
func TestReadFixture(t *testing.T) {
	inv := Read("testdata/root", Options{})
	if len(inv.Problems) != 0 {
		t.Errorf("problems: %q", inv.Problems)
	}
	if inv.Release != "6.1.0-vigil" || !inv.ModulesSupported || inv.ModulesDisabled || inv.SigEnforce != "N" {
		t.Errorf("inventory %+v", inv)
	}
	if want := []string{"proprietary_module", "warning", "out_of_tree_module", "unsigned_module"}; !slices.Equal(inv.Taints, want) {
		t.Errorf("kernel taints %q, want %q", inv.Taints, want)
	}
	mods := byName(inv)
	var names []string
	for _, m := range inv.Modules {
		names = append(names, m.Name)
	}
	want := []string{"crc32c_generic", "ext4", "kernel", "module", "printk", "tcp_cubic",
		"vh_gz", "vh_late", "vh_outoftree", "vh_signed", "vh_unsigned", "vh_xz"}
	if !slices.Equal(names, want) {
		t.Fatalf("modules %q, want %q", names, want)
	}
	dir := "/lib/modules/6.1.0-vigil/"

	o := mods["vh_outoftree"]
	if o.Kind != KindLoaded || o.State != "Live" || o.Size != 20480 || o.Refcount != 0 ||
		!slices.Equal(o.Deps, []string{"vh_signed", "vh_unsigned"}) || o.Address != "0xffffffffc0a00000" ||
		o.Taint != "POE" || !slices.Equal(o.Taints, []string{"proprietary_module", "out_of_tree_module", "unsigned_module"}) {
		t.Errorf("vh_outoftree %+v", o)
	}
	if o.File == nil || o.File.Path != dir+"extra/vh_outoftree.ko" || o.File.Signature != nil ||
		o.File.SHA256 != fileSHA(t, "testdata/root"+dir+"extra/vh_outoftree.ko") || o.License != "Proprietary" ||
		o.Description != "vh_outoftree fixture module" || o.File.Modinfo["depends"] != "vh_signed,vh_unsigned" {
		t.Errorf("vh_outoftree file %+v, module %+v", o.File, o)
	}

	s := mods["vh_signed"]
	if s.Taint != "" || s.Refcount != 2 || s.SrcVersion != "0123456789ABCDEF0123456" || s.File == nil ||
		s.File.Path != dir+"kernel/drivers/vh/vh-signed.ko" || s.File.Unread != "" {
		t.Fatalf("vh_signed %+v file %+v", s, s.File)
	}
	serial, err := os.ReadFile("testdata/signed.serial")
	if err != nil {
		t.Fatal(err)
	}
	sig := s.File.Signature
	if sig == nil || sig.IDType != "PKCS#7" || sig.Signer != "vigil fixture signing key" || sig.HashAlgo != "sha256" ||
		!strings.Contains(sig.Issuer, "O=vigil tests") || sig.KeyID != strings.TrimLeft(strings.TrimSpace(string(serial)), "0") {
		t.Errorf("vh_signed signature %+v; want PKCS#7 by %q, serial %s", sig, "vigil fixture signing key", serial)
	}

	if u := mods["vh_unsigned"]; u.Taint != "E" || u.File == nil || u.File.Signature != nil || u.Author != "vigil tests <tests@example.org>" {
		t.Errorf("vh_unsigned %+v", u)
	}
	if g := mods["vh_gz"]; g.State != "Loading" || g.File == nil || g.File.Compression != "gzip" || g.File.Unread != "" ||
		g.Description != "vh_gz fixture module" || g.File.SHA256 != fileSHA(t, "testdata/root"+dir+"kernel/drivers/vh/vh_gz.ko.gz") {
		t.Errorf("vh_gz %+v file %+v", g, g.File)
	}
	if x := mods["vh_xz"]; x.Refcount != -1 || x.File == nil || x.File.Compression != "xz" || x.File.Unread == "" || x.File.SHA256 == "" {
		t.Errorf("vh_xz %+v file %+v", x, x.File)
	}
	if l := mods["vh_late"]; l.Kind != KindLoaded || l.State != "coming" || l.Refcount != 3 || l.Taint != "O" || l.File != nil {
		t.Errorf("vh_late %+v", l)
	}
	if e := mods["ext4"]; e.Kind != KindBuiltin || e.Version != "1.0" || e.License != "GPL" ||
		e.Description != "Fourth Extended Filesystem" || !slices.Equal(e.Sources, []string{"sysfs", "modules.builtin"}) {
		t.Errorf("ext4 %+v", e)
	}
	if c := mods["crc32c_generic"]; c.Kind != KindBuiltin || !slices.Equal(c.Sources, []string{"modules.builtin"}) {
		t.Errorf("crc32c_generic %+v", c)
	}
	if p := mods["printk"]; p.Kind != KindBuiltin || !slices.Equal(p.Sources, []string{"sysfs"}) || p.Refcount != -1 {
		t.Errorf("printk %+v", p)
	}
	counts := inv.CountByTaint()
	if counts[[2]string{KindBuiltin, "none"}] != 6 || counts[[2]string{KindLoaded, "unsigned_module"}] != 2 ||
		counts[[2]string{KindLoaded, "none"}] != 3 || counts[[2]string{KindLoaded, "out_of_tree_module"}] != 2 {
		t.Errorf("counts %v", counts)
	}
}

// TestReadReportsBadLines: a malformed file is named with its line and
// the rest is still read.
func TestReadReportsBadLines(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/modules", "a 1 0 - Live 0x0\nb x 0 - Live 0x0\n")
	write("proc/sys/kernel/tainted", "lots\n")
	write("lib/modules/r/modules.builtin", "kernel/x.ko\nnot a path\n")
	write("lib/modules/r/modules.dep", "no colon here\n")
	inv := Read(root, Options{Release: "r"})
	want := []string{
		`/proc/sys/kernel/tainted: "lots" is not a decimal bitmask`,
		`/proc/modules:2: size "x": want a byte count`,
		`/lib/modules/r/modules.builtin:2: "not a path" is not a module path (….ko)`,
		`/lib/modules/r/modules.dep:1: no ':' after the module's path`,
	}
	if !slices.Equal(inv.Problems, want) {
		t.Errorf("problems\n%q\nwant\n%q", inv.Problems, want)
	}
	if len(inv.Modules) != 1 || inv.Modules[0].Name != "x" {
		t.Errorf("modules %+v, want the built-in x", inv.Modules)
	}
}

// TestReadLive reads this machine. Where the kernel has no module
// support (no /proc/modules) every /sys/module entry must be there, as
// a built-in module.
func TestReadLive(t *testing.T) {
	ents, err := os.ReadDir("/sys/module")
	if err != nil {
		t.Skipf("this machine has no /sys/module: %v", err)
	}
	inv := Read("/", Options{})
	if len(inv.Problems) != 0 {
		t.Errorf("problems: %q", inv.Problems)
	}
	mods := byName(inv)
	_, statErr := os.Stat("/proc/modules")
	if inv.ModulesSupported != (statErr == nil) {
		t.Errorf("ModulesSupported %v, /proc/modules: %v", inv.ModulesSupported, statErr)
	}
	for _, e := range ents {
		m, ok := mods[e.Name()]
		if !ok {
			t.Errorf("/sys/module/%s missing from the inventory", e.Name())
			continue
		}
		if !inv.ModulesSupported && (m.Kind != KindBuiltin || m.State != KindBuiltin || m.File != nil) {
			t.Errorf("%s is %s/%s on a kernel without module support, want builtin", m.Name, m.Kind, m.State)
		}
	}
	if inv.Release == "" {
		t.Error("no release")
	}
}

// TestCandidates: every file modules.dep lists that exists, with its hash,
// signer and inode; the missing one is a problem.
func TestCandidates(t *testing.T) {
	cs, problems := Candidates("testdata/root", "")
	if len(problems) != 1 || !strings.Contains(problems[0], "vh_unused.ko.zst") {
		t.Errorf("problems %q, want the missing vh_unused.ko.zst", problems)
	}
	got := map[string]Candidate{}
	for _, c := range cs {
		got[c.Name] = c
	}
	s := got["vh_signed"]
	if len(cs) != 5 || s.Signer != "vigil fixture signing key" || s.Ino == 0 || s.Size == 0 ||
		s.SHA256 != fileSHA(t, "testdata/root"+s.Path) || s.Path != "/lib/modules/6.1.0-vigil/kernel/drivers/vh/vh-signed.ko" {
		t.Errorf("candidates %+v", cs)
	}
	if got["vh_unsigned"].Signer != "" || got["vh_xz"].SHA256 == "" {
		t.Errorf("vh_unsigned %+v, vh_xz %+v", got["vh_unsigned"], got["vh_xz"])
	}
}
