package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-sec/vigil/internal/policy"
)

// PolicyFile is one policy file's name and content, read but not parsed:
// a caller can tell whether anything changed before parsing it.
type PolicyFile struct {
	Name string
	Data []byte
}

// ReadPolicyPaths reads the policy files of paths in the order given. A
// directory contributes its *.yaml and *.yml files in lexical order, not
// its subdirectories nor hidden names (a ConfigMap volume's ..data and
// timestamped directories), so a ConfigMap mounted as a directory reads as
// its keys.
func ReadPolicyPaths(paths []string) ([]PolicyFile, error) {
	var out []PolicyFile
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		names := []string{p}
		if st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("policy: %w", err)
			}
			names = names[:0]
			for _, e := range entries { // sorted by name
				n := e.Name()
				if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
					continue
				}
				if fi, err := os.Stat(filepath.Join(p, n)); err != nil || fi.IsDir() {
					continue // a dangling link mid-update, or a directory
				}
				names = append(names, filepath.Join(p, n))
			}
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, fmt.Errorf("policy: %w", err)
			}
			out = append(out, PolicyFile{Name: n, Data: data})
		}
	}
	return out, nil
}

// ParsePolicyFiles checks every file and returns all their policies, or
// the first file's errors (file:line: field: what is wrong).
func ParsePolicyFiles(files []PolicyFile) ([]policy.Policy, error) {
	var out []policy.Policy
	for _, f := range files {
		ps, err := ParsePolicies(f.Name, f.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}
