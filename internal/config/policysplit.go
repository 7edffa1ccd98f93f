package config

import (
	"bytes"
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
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
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []PolicyDoc
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		var head struct {
			Policy string `yaml:"policy"`
		}
		if err := doc.Decode(&head); err != nil {
			return nil, err
		}
		raw, err := yaml.Marshal(&doc)
		if err != nil {
			return nil, err
		}
		out = append(out, PolicyDoc{Name: head.Policy, YAML: raw})
	}
}
