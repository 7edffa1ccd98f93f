package config

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/sensor/process"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// processEnv reads `sensors.process.env`, which environment variables exec
// events carry, from the sensors section; its other keys are read by their
// own owners.
func (d *decoder) processEnv(sensors *yaml.Node) process.Env {
	env := process.DefaultEnv()
	if sensors == nil {
		return env
	}
	if n := resolve(sensors); n.Kind != yaml.MappingNode {
		d.errorf(n, "sensors", "want a mapping (key: value lines), got %s", yamldoc.Describe(n))
		return env
	}
	proc := mappingKey(sensors, "process")
	if proc == nil {
		return env
	}
	f, ok := d.mapping(proc, "sensors.process", "env")
	if !ok || f["env"] == nil {
		return env
	}
	const field = "sensors.process.env"
	e, ok := d.mapping(f["env"], field, "names", "add", "max_vars", "max_bytes")
	if !ok {
		return env
	}
	if v := e["names"]; v != nil {
		env.Names = d.envNames(v, field+".names", nil)
	}
	if v := e["add"]; v != nil {
		env.Names = append(env.Names, d.envNames(v, field+".add", env.Names)...)
	}
	if len(env.Names) > process.EnvNamesMax {
		d.errorf(f["env"], field, "%d names watched: want at most %d", len(env.Names), process.EnvNamesMax)
	}
	decodeKey(e, field, "max_vars", &env.MaxVars, d.inRange(0, process.EnvVarsMax))
	decodeKey(e, field, "max_bytes", &env.MaxBytes, d.inRange(0, process.EnvBytesMax))
	return env
}

// networkPayload reads `sensors.network.payload`: whether the network
// sensor looks at received bytes (net_payload); true when absent.
func (d *decoder) networkPayload(sensors *yaml.Node) bool {
	payload := true
	if sensors == nil || resolve(sensors).Kind != yaml.MappingNode {
		return payload // processEnv reports a sensors section that is no mapping
	}
	n := mappingKey(sensors, "network")
	if n == nil {
		return payload
	}
	f, ok := d.mapping(n, "sensors.network", "payload")
	if ok {
		decodeKey(f, "sensors.network", "payload", &payload, d.boolean)
	}
	return payload
}

// envNames reads a list of variable names, none of them already in have
// or listed twice.
func (d *decoder) envNames(n *yaml.Node, field string, have []string) []string {
	out := []string{}
	for i, item := range d.sequence(n, field) {
		at := fmt.Sprintf("%s[%d]", field, i)
		name := d.str(item, at)
		if err := process.CheckEnvName(name); err != nil {
			d.errorf(item, at, "%v", err)
		} else if slices.Contains(have, name) || slices.Contains(out, name) {
			d.errorf(item, at, "%q is already watched", name)
		} else {
			out = append(out, name)
		}
	}
	return out
}

// inRange reads whole numbers from min to max, for decodeKey.
func (d *decoder) inRange(min, max int) func(n *yaml.Node, field string) int {
	return func(n *yaml.Node, field string) int {
		i := d.integer(n, field, min)
		if i > max {
			d.errorf(n, field, "%d is too large: want at most %d", i, max)
		}
		return i
	}
}

// mappingKey is the value of key in mapping n, nil when absent.
func mappingKey(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
