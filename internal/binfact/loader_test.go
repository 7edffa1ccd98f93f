package binfact

import "testing"

func TestLoadedProgram(t *testing.T) {
	const ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
	for _, c := range []struct {
		binary string
		args   []string
		cwd    string
		want   string
	}{
		{ld, []string{"ld-linux-x86-64.so.2", "/tmp/x"}, "/", "/tmp/x"},
		{ld, []string{"/lib64/ld-linux-x86-64.so.2", "x", "-a"}, "/tmp/d", "/tmp/d/x"},
		{ld, []string{"ld.so", "--library-path", "/tmp/lib", "--inhibit-cache", "--argv0", "sshd", "./y"}, "/dev/shm", "/dev/shm/y"},
		{ld, []string{"ld.so", "--preload", "/tmp/a.so", "--", "/var/tmp/z"}, "/", "/var/tmp/z"},
		{ld, []string{"ld.so", "--verify", "/tmp/x"}, "/", ""},
		{ld, []string{"ld.so", "--list", "/tmp/x"}, "/", ""},
		{ld, []string{"ld.so"}, "/", ""},
		{ld, []string{"ld.so", "--library-path"}, "/", ""},
		{"/lib/ld-musl-x86_64.so.1", []string{"ld", "/tmp/m"}, "/", "/tmp/m"},
		{"/lib/ld-linux-aarch64.so.1", []string{"ld", "/tmp/a"}, "/", "/tmp/a"},
		{"/usr/bin/python3", []string{"python3", "/tmp/x"}, "/", ""},
		{"/tmp/ld-linux-x86-64.so.2.bak", []string{"x", "/tmp/x"}, "/", ""},
	} {
		if got := LoadedProgram(c.binary, c.args, c.cwd); got != c.want {
			t.Errorf("LoadedProgram(%s, %q, %s) = %q, want %q", c.binary, c.args, c.cwd, got, c.want)
		}
	}
}
