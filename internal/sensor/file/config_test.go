package file

import (
	"strings"
	"testing"
)

func identity(p string) (string, error) { return p, nil }

func TestConfigDefaultCompiles(t *testing.T) {
	r, err := DefaultConfig().compile(identity)
	if err != nil {
		t.Fatal(err)
	}
	// every key has setid_dirs "/"'s op; /tmp deletes; /dev's file
	// writes do not reach into /dev/shm, which exec_dirs names itself;
	// hidden_dirs is on the directories' own keys, not on what is below
	want := map[string]uint32{
		"/tmp\x00":        opExec | opDel | opSetid | opHidden,
		"/var/tmp\x00":    opExec | opSetid | opHidden,
		"/dev/shm\x00":    opExec | opSetid | opHidden,
		"/etc/":           opWrite | opSetid,
		"/etc\x00":        opWrite | opSetid,
		"/etc/shadow\x00": opRead | opWrite | opSetid,
		"/etc/ssh/":       opRead | opWrite | opSetid,
		"/usr/bin/":       opWrite | opSetid,
		"/tmp/":           opExec | opDel | opSetid,
		"/dev/":           opFile | opSetid,
		"/dev/shm/":       opExec | opSetid,
		"/var/mail/":      opRead | opWrite | opSetid,
	}
	for k, ops := range want {
		if got, ok := r.keys[k]; !ok || got != ops {
			t.Errorf("key %q: ops %b (present %v), want %b", k, got, ok, ops)
		}
	}
	def := DefaultConfig()
	all := opRead | opWrite | opExec
	if len(r.comps) != len(def.Components)+len(def.ComponentWrites) || r.comps[".ssh"] != all ||
		r.comps["serviceaccount"] != all || r.comps[".netrc"] != all || r.comps[".gnupg"] != all || r.comps["mem"] != all ||
		r.comps[".bashrc"] != all || r.comps[".profile"] != all || r.comps["release_agent"] != opWrite || r.comps["site-packages"] != opWrite {
		t.Errorf("components %v", r.comps)
	}
	// the names watched for reads: .ssh, serviceaccount, .netrc, .gnupg,
	// mem and the shell startup files (6 to 13 bytes)
	reads := uint32(1<<4 | 1<<14 | 1<<6 | 1<<3 | 1<<7 | 1<<8 | 1<<9 | 1<<11 | 1<<12 | 1<<13)
	if r.conf.CompLens[0] != reads || r.conf.CompLens[1]&(1<<4|1<<7|1<<13) != 1<<4|1<<7|1<<13 {
		t.Errorf("component lengths %b %b: want .ssh, serviceaccount, .netrc, .gnupg, mem and the shell startup files alone for reads", r.conf.CompLens[0], r.conf.CompLens[1])
	}
	if root := r.tree.Node[0]; root.Flags != 0 || root.ChildLens == 0 {
		t.Errorf("watch tree root %+v: want names below it and no trie fallback", root)
	}
	if r.conf.AllOps != opRead|opWrite|opExec|opFile|opDel|opSetid|opHidden {
		t.Errorf("all ops %b", r.conf.AllOps)
	}
	if r.conf.Memfd != 1 {
		t.Error("memfd_create is off by default")
	}
	if int(r.conf.MaxKey) != len("/sys/kernel/uevent_helper/") {
		t.Errorf("max key %d", r.conf.MaxKey)
	}
}

func TestConfigNilListsTakeDefaultsEmptyListsTakeNothing(t *testing.T) {
	c := Config{Watch: []string{"/srv"}}.withDefaults()
	if len(c.WatchWrites) == 0 || len(c.Exact) == 0 {
		t.Errorf("nil lists were not defaulted: %+v", c)
	}
	c = Config{Watch: []string{"/srv"}, WatchWrites: []string{}}.withDefaults()
	if len(c.WatchWrites) != 0 {
		t.Errorf("an empty list was defaulted: %v", c.WatchWrites)
	}
}

func TestConfigErrorsNameTheFieldAndEntry(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Watch: []string{"/ok", "etc"}}, `file.watch[1] "etc": not absolute`},
		{Config{Exact: []string{""}}, `file.exact[0] "": empty`},
		{Config{WatchWrites: []string{"/" + strings.Repeat("a", 300)}}, "file.watch_writes[0]"},
		{Config{ExecDirs: []string{"/tmp\x00x"}}, "file.exec_dirs[0]"},
		{Config{HiddenDirs: []string{"/tmp", "tmp"}}, `file.hidden_dirs[1] "tmp": not absolute`},
		{Config{Components: []string{"a/b"}}, `file.components[0] "a/b": holds /`},
		{Config{Components: []string{".."}}, "file.components[0]"},
		{Config{Components: []string{strings.Repeat("x", 32)}}, "at most 31"},
		{Config{ComponentWrites: []string{"ok", ""}}, `file.component_writes[1] ""`},
		{Config{Components: make([]string, 30), ComponentWrites: make([]string, 35)}, "at most 64"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to say %q", tc.cfg, err, tc.want)
		}
	}
}

func TestConfigInheritsOpsDownTheTree(t *testing.T) {
	r, err := only(Config{Exact: []string{"/etc/shadow"}, WatchWrites: []string{"/etc"}, ExecDirs: []string{"/"}}).compile(identity)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.keys["/etc/shadow\x00"]; got != opRead|opWrite|opExec {
		t.Errorf("/etc/shadow ops %b: want its own, /etc's and /'s", got)
	}
	if r.conf.RootOps != opExec {
		t.Errorf("root ops %b", r.conf.RootOps)
	}
}

// hidden_dirs marks the directory's own key, which the kernel looks the
// parent of a made name up by, and nothing below it: /tmp/build/.git is
// not a name made in /tmp. "/" is every directory.
func TestConfigHiddenDirsMarkTheDirectoryOnly(t *testing.T) {
	r, err := only(Config{HiddenDirs: []string{"/tmp"}, ExecDirs: []string{"/tmp", "/tmp/build"}}).compile(identity)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.keys["/tmp\x00"]; got != opExec|opHidden {
		t.Errorf("/tmp ops %b, want exec and hidden", got)
	}
	for _, k := range []string{"/tmp/", "/tmp/build/", "/tmp/build\x00"} {
		if r.keys[k]&opHidden != 0 {
			t.Errorf("%q ops %b: hidden reaches below the directory", k, r.keys[k])
		}
	}
	if r.conf.AllOps&opHidden == 0 || r.conf.RootOps&opHidden != 0 {
		t.Errorf("all ops %b, root ops %b", r.conf.AllOps, r.conf.RootOps)
	}
	r, err = only(Config{HiddenDirs: []string{"/"}}).compile(identity)
	if err != nil {
		t.Fatal(err)
	}
	if r.conf.RootOps != opHidden || len(r.keys) != 0 {
		t.Errorf("hidden_dirs /: root ops %b, keys %v", r.conf.RootOps, r.keys)
	}
}

func TestConfigWatchesBothTheGivenAndTheResolvedPath(t *testing.T) {
	resolve := func(p string) (string, error) {
		if p == "/bin" {
			return "/usr/bin", nil
		}
		return p, nil
	}
	r, err := only(Config{WatchWrites: []string{"/bin/"}}).compile(resolve)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"/bin/", "/bin\x00", "/usr/bin/", "/usr/bin\x00"} {
		if _, ok := r.keys[k]; !ok {
			t.Errorf("no key %q in %v", k, r.keys)
		}
	}
}

func TestNameWordsPackLittleEndian(t *testing.T) {
	w := nameWords(".ssh")
	if w[0] != 0x6873732e || w[1] != 0 {
		t.Errorf("%x", w)
	}
	w = nameWords("0123456789abcdef0123456789ABCDEFtail")
	if w[0] != 0x3736353433323130 || w[1] != 0x6665646362613938 || w[3] != 0x4645444342413938 {
		t.Errorf("%x", w)
	}
}
