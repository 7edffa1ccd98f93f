package agent

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/output"
)

// TestReadyNeedsAnOutputThatWorks: /readyz fails while every output
// fails, and names them; one healthy output is enough.
func TestReadyNeedsAnOutputThatWorks(t *testing.T) {
	down := output.RouteStats{Name: "webhook", LastError: "connection refused"}
	full := output.RouteStats{Name: "file", LastError: "no space left on device"}
	up := output.RouteStats{Name: "stdout", Healthy: true}
	if err := outputsReady(nil); err != nil {
		t.Errorf("no outputs: %v, want ready", err)
	}
	if err := outputsReady([]output.RouteStats{down, up}); err != nil {
		t.Errorf("one output healthy: %v, want ready", err)
	}
	err := outputsReady([]output.RouteStats{down, full})
	if err == nil || !strings.Contains(err.Error(), "webhook (connection refused)") || !strings.Contains(err.Error(), "file (no space left on device)") {
		t.Errorf("every output failing: %v, want an error naming each and why", err)
	}
}
