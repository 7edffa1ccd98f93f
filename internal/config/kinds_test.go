package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestFilterKindsAreTheTable: an output filter accepts exactly the kinds
// that internal/event's table says reach outputs.
func TestFilterKindsAreTheTable(t *testing.T) {
	rows := append(event.KindInfos(), event.KindInfo{Kind: event.KindAlert})
	for _, row := range rows {
		yaml := fmt.Sprintf("outputs:\n  - stdout:\n    filter:\n      kinds: [%s]\n", row.Kind)
		_, err := Parse("config.yaml", []byte(yaml))
		rejected := err != nil && strings.Contains(err.Error(), "unknown event kind")
		if rejected == row.Output {
			t.Errorf("filter kind %s: error %v; the table says it reaches outputs: %v", row.Kind, err, row.Output)
		}
	}
}
