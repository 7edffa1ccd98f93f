package enforce

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Store keeps the policies applied through `vigil policy apply`, one YAML
// document per policy under DIR/policies, so a restarted agent applies them
// again. Files are written whole (temp file and rename): a crash leaves the
// old version or the new one.
type Store struct{ dir string }

// NewStore uses dir (created 0700 on first write); "" stores nothing.
func NewStore(dir string) *Store {
	if dir == "" {
		return nil
	}
	return &Store{dir: filepath.Join(dir, "policies")}
}

// DefaultStateDir is where the agent remembers applied policies.
const DefaultStateDir = "/var/lib/vigil"

func (s *Store) path(name string) string { return filepath.Join(s.dir, name+".yaml") }

// Save remembers one policy's YAML under its name.
func (s *Store) Save(name string, yaml []byte) error {
	if s == nil {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("policy store: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-"+name+"-")
	if err != nil {
		return fmt.Errorf("policy store: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone after the rename; else best effort
	if _, err := tmp.Write(yaml); err != nil {
		_ = tmp.Close() // the write error is the one to report
		return fmt.Errorf("policy store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close() // the sync error is the one to report
		return fmt.Errorf("policy store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("policy store: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(name)); err != nil {
		return fmt.Errorf("policy store: %w", err)
	}
	return nil
}

// Remove forgets a policy; forgetting one that was never stored is fine.
func (s *Store) Remove(name string) error {
	if s == nil {
		return nil
	}
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("policy store: %w", err)
	}
	return nil
}

// Clear forgets every stored policy.
func (s *Store) Clear() error {
	if s == nil {
		return nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("policy store: %w", err)
	}
	return nil
}

// StoredPolicy is one remembered policy file.
type StoredPolicy struct {
	Name, Path string
	YAML       []byte
}

// Load returns every stored policy, by name.
func (s *Store) Load() ([]StoredPolicy, error) {
	if s == nil {
		return nil, nil
	}
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("policy store: %w", err)
	}
	var out []StoredPolicy
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(s.dir, e.Name())
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("policy store: %w", err)
		}
		out = append(out, StoredPolicy{Name: name, Path: p, YAML: raw})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
