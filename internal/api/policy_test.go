package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// fakePolicies records what the API asked of it.
type fakePolicies struct{ applied, cleared []string }

func (f *fakePolicies) ApplyPolicies(file string, yaml []byte) ([]string, error) {
	if strings.Contains(string(yaml), "bad") {
		return nil, errors.New(file + ":1: policy: bad")
	}
	f.applied = append(f.applied, file)
	return []string{"p"}, nil
}
func (f *fakePolicies) ClearPolicies(names []string) ([]string, error) {
	f.cleared = append(f.cleared, names...)
	return names, nil
}
func (f *fakePolicies) PolicyReport() PolicyReport {
	return PolicyReport{Policies: []PolicyStatus{{Name: "p", Mode: "enforce"}}}
}

func TestPolicyEndpoints(t *testing.T) {
	fp := &fakePolicies{}
	s, c := listen(t, Options{Policies: fp})
	defer s.Close()
	ctx := context.Background()

	rep, err := c.PolicyReport(ctx)
	if err != nil || len(rep.Policies) != 1 || rep.Policies[0].Name != "p" {
		t.Errorf("list = %+v, %v", rep, err)
	}
	if names, err := c.ApplyPolicies(ctx, "a.yaml", []byte("policy: p")); err != nil || len(names) != 1 || fp.applied[0] != "a.yaml" {
		t.Errorf("apply = %v, %v", names, err)
	}
	var perr *PolicyError
	if _, err := c.ApplyPolicies(ctx, "b.yaml", []byte("bad")); !errors.As(err, &perr) || !strings.Contains(perr.Message, "b.yaml:1: policy: bad") {
		t.Errorf("apply of a bad file: %v, want a PolicyError naming the file and line", err)
	}
	if names, err := c.ClearPolicies(ctx, []string{"p", "q"}); err != nil || len(names) != 2 || len(fp.cleared) != 2 {
		t.Errorf("clear = %v, %v", names, err)
	}
	if _, err := c.request(ctx, http.MethodPut, "/v1/policies", nil); err == nil || !strings.Contains(err.Error(), "Method Not Allowed") {
		t.Errorf("PUT: %v, want 405", err)
	}

	s2, c2 := listen(t, Options{})
	defer s2.Close()
	if _, err := c2.PolicyReport(ctx); err == nil || !strings.Contains(err.Error(), "without enforcement") {
		t.Errorf("an agent without enforcement: %v", err)
	}
}
