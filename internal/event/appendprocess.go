package event

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
)

// appendProcessFields writes p as encoding/json would encode processFields
// (same fields, order and omitempty rules), without reflection: a process
// is encoded once per exec, and that is the agent's largest single cost
// per event. TestAppendProcessMatchesEncodingJSON keeps the two in step.
func appendProcessFields(b []byte, p *Process) ([]byte, error) {
	b = append(b, `{"pid":`...)
	b = strconv.AppendUint(b, uint64(p.PID), 10)
	b = appendUintField(b, "tid", uint64(p.TID))
	b = appendUintField(b, "ppid", uint64(p.PPID))
	if p.VPID != 0 {
		b = appendUintField(b, "vpid", uint64(p.VPID))
	}
	b = appendUintField(b, "uid", uint64(p.UID))
	b = appendUintField(b, "euid", uint64(p.EUID))
	b = appendUintField(b, "gid", uint64(p.GID))
	b = appendUintField(b, "egid", uint64(p.EGID))
	if p.AUID != nil {
		b = appendUintField(b, "auid", uint64(*p.AUID))
	}
	if p.User != "" {
		b = appendStringField(b, "user", p.User)
	}
	b = appendStringField(b, "comm", p.Comm)
	b = appendStringField(b, "binary", p.Binary)
	if p.Filename != "" {
		b = appendStringField(b, "filename", p.Filename)
	}
	if p.Script != "" {
		b = appendStringField(b, "script", p.Script)
	}
	b = append(b, `,"args":`...)
	b = appendStrings(b, p.Args)
	if len(p.Env) > 0 {
		b = append(b, `,"env":`...)
		b = appendStringMap(b, p.Env)
	}
	b = appendStringField(b, "cwd", p.Cwd)
	if p.TTY != "" {
		b = appendStringField(b, "tty", p.TTY)
	}
	b = appendStringField(b, "exec_id", p.ExecID)
	if p.ParentExecID != "" {
		b = appendStringField(b, "parent_exec_id", p.ParentExecID)
	}
	b = appendTimeField(b, "start_time", p.StartTime)
	if x := p.Executable; x != nil {
		b = append(b, `,"executable":{"dev":`...)
		b = strconv.AppendUint(b, uint64(x.Dev), 10)
		b = appendUintField(b, "inode", x.Inode)
		b = appendUintField(b, "mode", uint64(x.Mode))
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, x.Size, 10)
		b = appendTimeField(b, "mtime", x.Mtime)
		if x.Deleted {
			b = append(b, `,"deleted":true`...)
		}
		b = append(b, '}')
	}
	b = append(b, `,"cgroup":{"id":`...)
	b = strconv.AppendUint(b, p.Cgroup.ID, 10)
	b = appendStringField(b, "path", p.Cgroup.Path)
	b = append(b, `},"namespaces":{"pid":`...)
	b = strconv.AppendUint(b, uint64(p.Namespaces.PID), 10)
	b = appendUintField(b, "mnt", uint64(p.Namespaces.Mnt))
	b = appendUintField(b, "net", uint64(p.Namespaces.Net))
	b = append(b, '}')
	if c := p.Caps; c != nil {
		b = appendCaps(b, c)
	}
	if c := p.Container; c != nil {
		var err error
		if b, err = appendContainer(b, c); err != nil {
			return b, err
		}
	}
	if len(p.Truncated) > 0 {
		b = append(b, `,"truncated":`...)
		b = appendStrings(b, p.Truncated)
	}
	if p.Partial {
		b = append(b, `,"partial":true`...)
	}
	if p.Recovered {
		b = append(b, `,"recovered":true`...)
	}
	if p.IsVigil {
		b = append(b, `,"is_vigil":true`...)
	}
	if p.BinaryTrusted {
		b = append(b, `,"binary_trusted":true`...)
	}
	if p.BinaryPackage != "" {
		b = appendStringField(b, "binary_package", p.BinaryPackage)
	}
	if p.LoadedProgram != "" {
		b = appendStringField(b, "loaded_program", p.LoadedProgram)
	}
	return append(b, '}'), nil
}

func appendContainer(b []byte, c *Container) ([]byte, error) {
	b = append(b, `,"container":{"id":`...)
	b = appendString(b, c.ID)
	b = appendStringField(b, "runtime", c.Runtime)
	if c.Name != "" {
		b = appendStringField(b, "name", c.Name)
	}
	if c.Image != "" {
		b = appendStringField(b, "image", c.Image)
	}
	if c.ImageDigest != "" {
		b = appendStringField(b, "image_digest", c.ImageDigest)
	}
	if c.Privileged {
		b = append(b, `,"privileged":true`...)
	}
	if c.Pod != nil { // per process and change, not per event: a process's JSON is cached
		raw, err := json.Marshal(c.Pod)
		if err != nil {
			return b, err
		}
		b = append(b, `,"pod":`...)
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

func appendCaps(b []byte, c *Caps) []byte {
	b = append(b, `,"caps":{"effective":`...)
	b = appendStrings(b, c.Effective)
	b = append(b, `,"permitted":`...)
	b = appendStrings(b, c.Permitted)
	b = append(b, `,"inheritable":`...)
	b = appendStrings(b, c.Inheritable)
	if len(c.Bounding) > 0 {
		b = append(b, `,"bounding":`...)
		b = appendStrings(b, c.Bounding)
	}
	return append(b, '}')
}

func appendUintField(b []byte, name string, v uint64) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}

func appendStringField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendTimeField(b []byte, name string, t time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendStringMap writes a string map, its keys sorted as encoding/json
// sorts them.
func appendStringMap(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendStrings writes a string array; nil is null, as encoding/json has it.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}
