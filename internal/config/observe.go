package config

import (
	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/observe"
)

// observeSection reads `observe`: which performance observers run, how many
// cgroups their kernel tables hold, and the cap on their metric series.
func (d *decoder) observeSection(n *yaml.Node, field string) observe.Config {
	c := observe.Config{}
	f, ok := d.mapping(n, field, "observers", "cgroups", "max_series")
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
	return c
}
