package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolveVersion(t *testing.T) {
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0cae074e1f2d3c4b5a69788796a5b4c3d2e1f0a9"},
			{Key: "vcs.time", Value: "2026-12-01T10:20:30Z"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, c := range []struct {
		name, stamped string
		bi            *debug.BuildInfo
		want          string
	}{
		{"stamped by the Makefile", "v1.2.3-4-gabcdef", &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}}, "v1.2.3-4-gabcdef"},
		{"no build info", "", nil, "dev"},
		{"the Makefile without git", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}}, "v1.0.0"},
		{"go install module@version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"go build's pseudo-version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201102030-0cae074e1f2d+dirty"}, Settings: vcs("true")},
			"v0.0.0-20261201102030-0cae074e1f2d+dirty"},
		{"vcs settings only, clean", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")},
			"v0.0.0-20261201102030-0cae074e1f2d"},
		{"vcs settings only, modified", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")},
			"v0.0.0-20261201102030-0cae074e1f2d+dirty"},
		{"a revision without a time", "", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0cae074e1f2d3c4b"}}},
			"0cae074e1f2d"},
		{"-buildvcs=false", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		if got := resolveVersion(c.stamped, c.bi); got != c.want {
			t.Errorf("%s: resolveVersion = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestVersionOfAPlainBuild: go build in a git checkout, without the
// Makefile's -ldflags, prints the commit it was built from, not "dev".
func TestVersionOfAPlainBuild(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing for go build to record", err)
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	// -buildvcs=true: go's default, which a GOFLAGS may have turned off
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// go stamps no VCS information in some checkouts (e.g. a linked git
	// worktree): then there is no commit for vigil to print
	if info, err := exec.Command("go", "version", "-m", bin).Output(); err != nil {
		t.Fatalf("go version -m: %v", err)
	} else if !strings.Contains(string(info), "vcs.revision=") {
		t.Skipf("go build recorded no commit in this checkout (%s): nothing to print", strings.TrimSpace(string(head)))
	}
	out, _, code := vigilCmd(t, bin, "version")
	got := strings.TrimSpace(out)
	want := regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9.]*\d{14}-` + string(head[:12]) + `)?(\+dirty)?$`)
	if code != 0 || !want.MatchString(got) {
		t.Errorf("vigil version: exit %d, %q; want a version of commit %s (%s)", code, got, head[:12], want)
	}
}
