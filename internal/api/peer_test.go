package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

const (
	requestHelperEnv  = "VIGIL_API_TEST_REQUEST"
	requestHelperCall = "VIGIL_API_TEST_CALL"
)

// requestHelper makes one request ("METHOD /path") on the socket and
// exits with its status code divided by 100 (2 ok, 4 refused, 5 error),
// or 1 when it could not connect.
func requestHelper(sock, call string) int {
	method, path, _ := strings.Cut(call, " ")
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, err := http.NewRequest(method, "http://vigil"+path, strings.NewReader(`{"file":"x.yaml","yaml":"policy: p"}`))
	if err != nil {
		return 1
	}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = resp.Body.Close() // the status is the answer
	return resp.StatusCode / 100
}

// TestCallerCredentialsDecide: the server judges every request on the
// caller's kernel credentials, not on the socket's mode: with the socket
// opened to everyone, another user still reads nothing; a member of the
// read group reads but cannot change policies; root can.
func TestCallerCredentialsDecide(t *testing.T) {
	testenv.RequirePrivileged(t)
	const group = 4242
	fp := &fakePolicies{}
	s, c := listen(t, Options{Policies: fp, ReadGID: group})
	for _, p := range []string{s.Socket(), filepath.Dir(s.Socket())} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o660)
		if p != s.Socket() {
			want = 0o750
		}
		if st.Mode().Perm() != want || st.Sys().(*syscall.Stat_t).Gid != group {
			t.Errorf("%s: mode %v group %d, want %v group %d", p, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, want, group)
		}
	}
	// open the way to the socket to everyone, so that only the server's
	// own check stands between another user and the agent
	for d := filepath.Dir(s.Socket()); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(s.Socket(), 0o666); err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(filepath.Dir(filepath.Dir(s.Socket())), "helper")
	copyExecutable(t, self)

	other := &syscall.Credential{Uid: 65534, Gid: 65534}
	member := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{group}}
	for _, tc := range []struct {
		name string
		cred *syscall.Credential
		call string
		want int
	}{
		{"another user reads the status", other, "GET /v1/status", 4},
		{"another user streams events", other, "GET /v1/events", 4},
		{"another user lists policies", other, "GET /v1/policies", 4},
		{"a read-group member reads the status", member, "GET /v1/status", 2},
		{"a read-group member lists policies", member, "GET /v1/policies", 2},
		{"a read-group member applies a policy", member, "POST /v1/policies", 4},
		{"a read-group member clears policies", member, "DELETE /v1/policies", 4},
		{"root applies a policy", nil, "POST /v1/policies", 2},
	} {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), requestHelperEnv+"="+s.Socket(), requestHelperCall+"="+tc.call)
		if tc.cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: tc.cred}
		}
		cmd.Stderr = os.Stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("%s: %s answered %dxx, want %dxx", tc.name, tc.call, code, tc.want)
		}
	}
	if len(fp.applied) != 1 || len(fp.cleared) != 0 {
		t.Errorf("policies applied %v, cleared %v: want one apply (root's) and no clear", fp.applied, fp.cleared)
	}
	// root's own client still works
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("root's status: %v", err)
	}
}

// TestOversizedPolicySaysTooLarge: a body over the limit is refused for
// its size, not as broken JSON.
func TestOversizedPolicySaysTooLarge(t *testing.T) {
	s, c := listen(t, Options{Policies: &fakePolicies{}})
	defer s.Close()
	big := strings.Repeat("# padding\n", (MaxPolicyRequest/10)+1)
	_, err := c.ApplyPolicies(context.Background(), "big.yaml", []byte(big))
	if err == nil || !strings.Contains(err.Error(), "too large") || !strings.Contains(err.Error(), strconv.Itoa(MaxPolicyRequest>>20)+" MiB") {
		t.Errorf("apply of %d bytes: %v, want a too-large error naming the limit", len(big), err)
	}
}
