package config

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/observe"
)

// observeSection reads `observe`: which performance observers run, how many
// cgroups their kernel tables hold, and the cap on their metric series.
func (d *decoder) observeSection(n *yaml.Node, field string) observe.Config {
	c := observe.Config{}
	f, ok := d.mapping(n, field, "observers", "cgroups", "max_series", "network")
	if !ok {
		return c
	}
	if v := f["observers"]; v != nil {
		names, err := observe.ParseNames(d.strings(v, field+".observers"))
		if err != nil {
			d.errorf(v, field+".observers", "%v", err)
		}
		c.Observers = names
	}
	decodeKey(f, field, "cgroups", &c.Cgroups, d.atLeast(0))
	decodeKey(f, field, "max_series", &c.MaxSeries, d.atLeast(0))
	if v := f["network"]; v != nil {
		c.RemotePorts = d.observeNetwork(v, field+".network")
	}
	return c
}

// observeNetwork reads `observe.network`: the remote ports whose TCP
// figures are kept apart (at most observe.MaxRemotePorts, 1-65535, no
// repeats).
func (d *decoder) observeNetwork(n *yaml.Node, field string) []uint16 {
	f, ok := d.mapping(n, field, "remote_ports")
	if !ok || f["remote_ports"] == nil {
		return nil
	}
	field += ".remote_ports"
	items := d.sequence(f["remote_ports"], field)
	if len(items) > observe.MaxRemotePorts {
		d.errorf(f["remote_ports"], field, "%d ports: at most %d can be watched", len(items), observe.MaxRemotePorts)
	}
	var ports []uint16
	for i, item := range items {
		at := fmt.Sprintf("%s[%d]", field, i)
		p := d.integer(item, at, 1)
		switch {
		case p > 65535:
			d.errorf(item, at, "%d is not a port: want 1 to 65535", p)
		case p >= 1 && slices.Contains(ports, uint16(p)):
			d.errorf(item, at, "port %d is listed already", p)
		case p >= 1:
			ports = append(ports, uint16(p))
		}
	}
	return ports
}
