package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// The policy endpoints:
//
//	GET    /v1/policies              PolicyReport as JSON
//	POST   /v1/policies              apply the policy file in the body (PolicyFile as JSON)
//	DELETE /v1/policies?name=N…      remove the named policies; no name removes all

// Policies is what the agent lets the API do to its policy set.
type Policies interface {
	// ApplyPolicies checks a policy file and applies its policies (a
	// policy of the same name is replaced); nothing is applied unless the
	// whole file is valid. It returns the names applied.
	ApplyPolicies(file string, yaml []byte) ([]string, error)
	// ClearPolicies removes the named policies, or all of them when names
	// is empty, and returns the names removed.
	ClearPolicies(names []string) ([]string, error)
	// PolicyReport describes the set and the mechanisms behind it.
	PolicyReport() PolicyReport
}

// MaxPolicyRequest bounds an apply's body: policy files are small, and
// the agent reads the body whole.
const MaxPolicyRequest = 4 << 20

// PolicyFile is the body of an apply.
type PolicyFile struct {
	File string `json:"file"`
	YAML string `json:"yaml"`
}

// PolicyReport is the policy set as the agent runs it.
type PolicyReport struct {
	Policies   []PolicyStatus `json:"policies"`
	Mechanisms []Mechanism    `json:"mechanisms"`
	// Adopted names the policies found pinned when the agent started.
	Adopted []string `json:"adopted,omitempty"`
	// Packets are the packet filter's counts per listed source prefix.
	Packets []PacketCount `json:"packets,omitempty"`
}

// PacketCount is what the packet filter did for one source prefix.
type PacketCount struct {
	Prefix    string `json:"prefix"`
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
	WouldDrop uint64 `json:"would_drop,omitempty"`
}

// PolicyStatus is one policy.
type PolicyStatus struct {
	Name   string `json:"name"`
	Number int    `json:"number"`
	Mode   string `json:"mode"`
	Scope  string `json:"scope"`
	// Origin is "file" (--policy), "applied" (vigil policy apply) or
	// "rules" (rules with a kill or deny action).
	Origin string `json:"origin"`
	Source string `json:"source"`
	// Entries counts the kernel entries by part: exec, sha256, files,
	// connect, bind, packets, modules.
	Entries map[string]int `json:"entries"`
	// Hits counts what the kernel did, by action (killed, would_kill, …),
	// since the pinned state was created.
	Hits map[string]uint64 `json:"hits,omitempty"`
	// WhileAway is the part of Hits done while no agent ran, as this
	// agent found it when it adopted the pinned state.
	WhileAway map[string]uint64 `json:"while_away,omitempty"`
	// Unresolved lists paths that do not exist yet.
	Unresolved []string `json:"unresolved,omitempty"`
}

// Mechanism is one enforcement mechanism and how it runs here.
type Mechanism struct {
	Name string `json:"name"`
	// Mode is "kernel" (with the hook), "off" (nothing asks for it yet)
	// or "unavailable".
	Mode  string `json:"mode"`
	Hook  string `json:"hook,omitempty"`
	Error string `json:"error,omitempty"`
}

// PolicyError is an apply the agent refused; Message holds every problem,
// one per line, with file and line.
type PolicyError struct{ Message string }

func (e *PolicyError) Error() string { return e.Message }

// policyHandler serves a policy endpoint, or says the agent has no
// enforce stage.
func (s *Server) policyHandler(h func(Policies, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Policies == nil {
			http.Error(w, "this agent runs without enforcement (see vigil status)", http.StatusNotImplemented)
			return
		}
		h(s.opts.Policies, w, r)
	}
}

func (s *Server) listPolicies(p Policies, w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, p.PolicyReport())
}

func (s *Server) applyPolicies(p Policies, w http.ResponseWriter, r *http.Request) {
	var f PolicyFile
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxPolicyRequest)).Decode(&f); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("the policy file is too large: over %d MiB; split it into several files", MaxPolicyRequest>>20),
				http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "want {\"file\": …, \"yaml\": …}: "+err.Error(), http.StatusBadRequest)
		return
	}
	names, err := p.ApplyPolicies(f.File, []byte(f.YAML))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	writeJSON(w, map[string][]string{"applied": names})
}

func (s *Server) clearPolicies(p Policies, w http.ResponseWriter, r *http.Request) {
	names, err := p.ClearPolicies(r.URL.Query()["name"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	writeJSON(w, map[string][]string{"cleared": names})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the header is sent: a failure has no one to tell
}

// PolicyReport asks the agent for its policies.
func (c *Client) PolicyReport(ctx context.Context) (PolicyReport, error) {
	var rep PolicyReport
	err := c.do(ctx, http.MethodGet, "/v1/policies", nil, &rep)
	return rep, err
}

// ApplyPolicies sends a policy file to the agent. A file the agent
// refuses comes back as a *PolicyError listing every problem.
func (c *Client) ApplyPolicies(ctx context.Context, file string, yaml []byte) ([]string, error) {
	var out struct{ Applied []string }
	body, _ := json.Marshal(PolicyFile{File: file, YAML: string(yaml)})
	err := c.do(ctx, http.MethodPost, "/v1/policies", body, &out)
	return out.Applied, err
}

// ClearPolicies removes policies by name, or all of them.
func (c *Client) ClearPolicies(ctx context.Context, names []string) ([]string, error) {
	q := url.Values{"name": names}
	var out struct{ Cleared []string }
	err := c.do(ctx, http.MethodDelete, "/v1/policies?"+q.Encode(), nil, &out)
	return out.Cleared, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	resp, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // read-only
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read reply from %s: %w", c.socket, err)
	}
	return nil
}
