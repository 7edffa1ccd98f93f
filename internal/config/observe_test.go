package config

import (
	"slices"
	"strings"
	"testing"
)

// observe.network.remote_ports: the ports listed, and errors naming the
// file, line and field of a bad one.
func TestObserveRemotePorts(t *testing.T) {
	c, err := Parse("config.yaml", []byte("observe:\n  network:\n    remote_ports: [443, 5432]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Observe.RemotePorts, []uint16{443, 5432}) {
		t.Errorf("remote ports %v; want [443 5432]", c.Observe.RemotePorts)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"observe:\n  network:\n    remote_ports: [443, 70000]\n",
			"config.yaml:3: observe.network.remote_ports[1]: 70000 is not a port: want 1 to 65535"},
		{"observe:\n  network:\n    remote_ports:\n      - 443\n      - https\n",
			`config.yaml:5: observe.network.remote_ports[1]: want a whole number, got "https"`},
		{"observe:\n  network:\n    remote_ports: [0]\n",
			"config.yaml:3: observe.network.remote_ports[0]: 0 is too small: want at least 1"},
		{"observe:\n  network:\n    remote_ports: [443, 443]\n",
			"config.yaml:3: observe.network.remote_ports[1]: port 443 is listed already"},
		{"observe:\n  network:\n    remote_ports: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]\n",
			"config.yaml:3: observe.network.remote_ports: 17 ports: at most 16 can be watched"},
		{"observe:\n  network:\n    ports: [443]\n",
			"config.yaml:3: observe.network.ports: unknown field; valid fields here: remote_ports"},
	} {
		_, err := Parse("config.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config\n%s\nerror %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
