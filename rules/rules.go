// Package rules is vigil's default rule pack, embedded into the binary.
// The YAML files load in lexical order: lists, then macros and tracks,
// then the rules by area. tests/ holds their fixtures (vigil rules test).
package rules

import (
	"embed"

	"github.com/vigil-sec/vigil/internal/rule"
)

//go:embed *.yaml
var pack embed.FS

// Sources returns the default pack's files, named "default/<file>" in
// errors.
func Sources() ([]rule.Source, error) {
	return rule.ReadFS(pack, ".", "default/")
}
