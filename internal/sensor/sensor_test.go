package sensor

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

func TestByKind(t *testing.T) {
	dec := func([]byte) (*event.Event, error) { return nil, nil }
	kinds := event.KindsOf(event.FamilyFile)
	got, err := ByKind(kinds, dec)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(kinds) {
		t.Errorf("%d decoders for %d kinds", len(got), len(kinds))
	}
	for _, k := range kinds {
		if w, _ := wire.Kind(k); got[w] == nil {
			t.Errorf("no decoder for %s", k)
		}
	}
	if _, err := ByKind([]event.Kind{"no_such_kind"}, dec); err == nil {
		t.Error("a kind with no wire number was accepted")
	}
}
