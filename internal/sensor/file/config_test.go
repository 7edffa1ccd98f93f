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
	want := map[string]uint32{
		"/etc/":           opWrite,
		"/etc\x00":        opWrite,
		"/etc/shadow\x00": opRead | opWrite,
		"/etc/ssh/":       opRead | opWrite,
		"/usr/bin/":       opWrite,
		"/tmp/":           opExec,
		"/dev/shm/":       opExec,
	}
	for k, ops := range want {
		if got, ok := r.keys[k]; !ok || got != ops {
			t.Errorf("key %q: ops %b (present %v), want %b", k, got, ok, ops)
		}
	}
	if r.conf.CompCount != 1 || r.conf.CompLens != 1<<4 {
		t.Errorf("components: count %d lens %b, want .ssh", r.conf.CompCount, r.conf.CompLens)
	}
	if r.conf.TopAny != 0 || r.conf.TopCount == 0 {
		t.Errorf("top-level names: %d, any %b", r.conf.TopCount, r.conf.TopAny)
	}
	if r.conf.Memfd != 1 {
		t.Error("memfd_create is off by default")
	}
	if int(r.conf.MaxKey) != len("/etc/security/opasswd\x00") {
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
		{Config{Components: []string{"a/b"}}, `file.components[0] "a/b": holds /`},
		{Config{Components: []string{".."}}, "file.components[0]"},
		{Config{Components: []string{strings.Repeat("x", 17)}}, "at most 16"},
		{Config{Components: make([]string, 9)}, "at most 8"},
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

func TestConfigTooManyTopLevelNamesTurnThatFilterOff(t *testing.T) {
	var dirs []string
	for c := 'a'; c < 'a'+20; c++ {
		dirs = append(dirs, "/"+string(c))
	}
	r, err := only(Config{WatchWrites: dirs}).compile(identity)
	if err != nil {
		t.Fatal(err)
	}
	if r.conf.TopAny != opWrite || r.conf.TopCount != 0 {
		t.Errorf("20 top-level names: any %b count %d, want the filter off for writes", r.conf.TopAny, r.conf.TopCount)
	}
}

func TestNameRulePacksLittleEndian(t *testing.T) {
	r := nameRule(".ssh", opRead)
	if r.Len != 4 || r.Word[0] != 0x6873732e || r.Word[1] != 0 {
		t.Errorf("%+v", r)
	}
	r = nameRule("0123456789abcdef", opRead)
	if r.Word[0] != 0x3736353433323130 || r.Word[1] != 0x6665646362613938 {
		t.Errorf("%+x", r.Word)
	}
}
