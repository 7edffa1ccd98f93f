package kernel

import "testing"

// TestModuleWatch: loads that can succeed are always watched, by the
// cheapest way the kernel offers; attempts that can only fail take the
// flag.
func TestModuleWatch(t *testing.T) {
	for _, c := range []struct {
		facts  ModuleFacts
		mode   string
		status Status
	}{
		{ModuleFacts{Tracepoints: true, CanLoad: true, GOARCH: "amd64"}, ModuleWatchTracepoints, StatusFull},
		{ModuleFacts{Tracepoints: true, CanLoad: true, GOARCH: "arm64"}, ModuleWatchTracepoints, StatusFull},
		{ModuleFacts{CanLoad: true, GOARCH: "amd64"}, ModuleWatchDispatcher, StatusDegraded},
		{ModuleFacts{CanLoad: true, GOARCH: "arm64"}, ModuleWatchOff, StatusUnavailable},
		{ModuleFacts{GOARCH: "amd64"}, ModuleWatchOff, StatusFull},
		{ModuleFacts{DispatchMissing: true, GOARCH: "amd64"}, ModuleWatchDispatcher, StatusFull},
		{ModuleFacts{DispatchMissing: true, GOARCH: "arm64"}, ModuleWatchOff, StatusUnavailable},
	} {
		mode, capab := ModuleWatch(c.facts)
		if mode != c.mode || capab.Status != c.status || capab.Name != CapabilityModuleDetection || capab.Detail == "" {
			t.Errorf("%+v: %s %+v, want %s %s", c.facts, mode, capab, c.mode, c.status)
		}
	}
}
