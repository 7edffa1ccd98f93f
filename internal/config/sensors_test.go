package config

import (
	"strings"
	"testing"
)

// TestNetworkPayload: sensors.network.payload switches the look at
// received bytes off; it is on without the key, and a mistake names its
// line and field.
func TestNetworkPayload(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want bool
	}{
		{"", true},
		{"sensors:\n  process:\n    env:\n      max_vars: 4\n", true},
		{"sensors:\n  network: {}\n", true},
		{"sensors:\n  network:\n    payload: true\n", true},
		{"sensors:\n  network:\n    payload: false\n", false},
	} {
		c, err := Parse("vigil.yaml", []byte(tc.yaml))
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
			continue
		}
		if c.NetworkPayload != tc.want {
			t.Errorf("%q: payload %v, want %v", tc.yaml, c.NetworkPayload, tc.want)
		}
	}
	for _, tc := range []struct{ yaml, want string }{
		{"sensors:\n  network:\n    payload: sometimes\n", `vigil.yaml:3: sensors.network.payload: want true or false`},
		{"sensors:\n  network:\n    payloads: false\n", `vigil.yaml:3: sensors.network.payloads: unknown field; valid fields here: payload`},
		{"sensors:\n  network: [payload]\n", `vigil.yaml:2: sensors.network: want a mapping`},
	} {
		_, err := Parse("vigil.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
