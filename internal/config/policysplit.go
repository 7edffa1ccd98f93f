package config

import (
	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// PolicyDoc is one policy of a file, as its own YAML document.
type PolicyDoc struct {
	Name string
	YAML []byte
}

// SplitPolicies cuts a checked policy file into one document per policy,
// so each can be stored and removed on its own. Call ParsePolicies first:
// SplitPolicies only reports what stops it from cutting.
func SplitPolicies(data []byte) ([]PolicyDoc, error) {
	var out []PolicyDoc
	for doc, err := range yamldoc.Documents(data) {
		if err != nil {
			return nil, err
		}
		var head struct {
			Policy string `yaml:"policy"`
		}
		if err := doc.Decode(&head); err != nil {
			return nil, err
		}
		raw, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, PolicyDoc{Name: head.Policy, YAML: raw})
	}
	return out, nil
}
