package privilege

import (
	"slices"
	"testing"
)

// TestEveryKindHasACall: Kinds comes from the table of kinds, so a row of
// this family that no watched call makes would be registered but never
// seen; a call making a kind outside the family would be decoded and
// dropped.
func TestEveryKindHasACall(t *testing.T) {
	made := map[string]bool{}
	for _, c := range calls() {
		made[string(c.kind)] = true
		if !slices.Contains(Kinds(), c.kind) {
			t.Errorf("%s makes %s, which is not a privilege kind of the table", c.name, c.kind)
		}
	}
	for _, k := range Kinds() {
		if !made[string(k)] {
			t.Errorf("no watched call makes %s", k)
		}
	}
}
