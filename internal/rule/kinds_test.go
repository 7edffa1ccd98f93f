package rule

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestConditionKindsAreTheTable: a condition may test for exactly the
// kinds that internal/event's table lets rules name; enforcement records
// and alerts are not among them.
func TestConditionKindsAreTheTable(t *testing.T) {
	rows := append(event.KindInfos(), event.KindInfo{Kind: event.KindAlert})
	for _, row := range rows {
		file := fmt.Sprintf("- rule: x\n  description: d\n  condition: kind == %q\n  severity: low\n", row.Kind)
		_, err := compileFiles(t, file)
		rejected := err != nil && strings.Contains(err.Error(), "unknown event kind")
		if rejected == row.Rule {
			t.Errorf("condition kind %s: error %v; the table says rules may name it: %v", row.Kind, err, row.Rule)
		}
	}
}
