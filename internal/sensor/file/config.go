package file

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Limits of what the kernel side compares.
const (
	// MaxPathLen is the longest watched path, in bytes.
	MaxPathLen = 254
	// MaxComponents is how many component names can be watched.
	MaxComponents = 8
	// MaxComponentLen is the longest component name, in bytes.
	MaxComponentLen = 16
)

// Config says which paths the file sensor reports. Paths are absolute; a
// directory covers itself and everything below it. A nil list means
// DefaultConfig's; an empty, non-nil list means none.
type Config struct {
	// Watch lists directories where every access is reported, reads
	// included.
	Watch []string
	// Exact lists files where every access is reported, reads included.
	Exact []string
	// WatchWrites lists directories where only changes are reported:
	// opens for writing, creating or truncating, and unlink, rename,
	// chmod, chown, link, symlink, truncate and mkdir.
	WatchWrites []string
	// Components lists names that make a path watched, for every access,
	// wherever they appear in it: ".ssh" covers /root/.ssh/id_rsa and
	// /home/ann/.ssh/authorized_keys.
	Components []string
	// ExecDirs lists directories where executables appearing are
	// reported: a regular file with an x bit opened for writing, or a
	// chmod that sets an x bit.
	ExecDirs []string
	// IgnoreMemfd turns memfd_create events off; by default every
	// memfd_create is reported (no path to filter on).
	IgnoreMemfd bool
}

// DefaultConfig is what the agent watches unless told otherwise. Reads are
// watched only where reading is itself the attack (credentials, sudo
// rules, host keys): reads elsewhere under /etc happen thousands of times
// a second (ld.so.cache at every exec) and say nothing. Writes are watched
// where a write changes what runs or who may log in, or hides tracks:
// binaries and libraries, /etc, /root, /boot, cron spools, logs.
func DefaultConfig() Config {
	return Config{
		Watch: []string{"/etc/ssh", "/etc/sudoers.d"},
		Exact: []string{
			"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/security/opasswd",
		},
		WatchWrites: []string{
			"/etc", "/root", "/boot",
			"/bin", "/sbin", "/lib", "/lib64",
			"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/local/bin", "/usr/local/sbin",
			"/var/log", "/var/spool/cron",
		},
		Components: []string{".ssh"},
		ExecDirs:   []string{"/tmp", "/var/tmp", "/dev/shm"},
	}
}

// withDefaults fills the lists the caller left nil.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	for _, f := range []struct{ dst, src *[]string }{
		{&c.Watch, &def.Watch}, {&c.Exact, &def.Exact}, {&c.WatchWrites, &def.WatchWrites},
		{&c.Components, &def.Components}, {&c.ExecDirs, &def.ExecDirs},
	} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
	return c
}

// Validate says what is wrong with c, naming the field and the entry.
func (c Config) Validate() error {
	_, err := c.withDefaults().compile(func(p string) (string, error) { return p, nil })
	return err
}

// ops of each list, as the kernel's enum watch_op.
const (
	opRead  = uint32(fileWatchOpWATCH_READ)
	opWrite = uint32(fileWatchOpWATCH_WRITE)
	opExec  = uint32(fileWatchOpWATCH_EXEC)
)

// rules is a Config compiled for the kernel: trie keys and the filter
// table.
type rules struct {
	keys map[string]uint32 // "dir/", "dir\x00" or "file\x00" → ops
	conf fileFilterConf
}

// compile checks c and builds the kernel's tables. resolve turns a path
// into the one the kernel reports (symlinks followed: /bin is /usr/bin on
// a merged-/usr host); both forms are watched, since argument paths come
// as the user wrote them.
func (c Config) compile(resolve func(string) (string, error)) (rules, error) {
	r := rules{keys: map[string]uint32{}}
	lists := []struct {
		field string
		paths []string
		ops   uint32
		dir   bool
	}{
		{"file.watch", c.Watch, opRead | opWrite, true},
		{"file.exact", c.Exact, opRead | opWrite, false},
		{"file.watch_writes", c.WatchWrites, opWrite, true},
		{"file.exec_dirs", c.ExecDirs, opExec, true},
	}
	for _, l := range lists {
		for i, p := range l.paths {
			if err := checkPath(p); err != nil {
				return r, fmt.Errorf("%s[%d] %q: %w", l.field, i, p, err)
			}
			forms := []string{filepath.Clean(p)}
			if real, err := resolve(forms[0]); err == nil && real != forms[0] && checkPath(real) == nil {
				forms = append(forms, real)
			}
			for _, f := range forms {
				r.add(f, l.ops, l.dir)
			}
		}
	}
	r.inherit()
	r.tops()
	if len(c.Components) > MaxComponents {
		return r, fmt.Errorf("file.components: %d names, at most %d are supported", len(c.Components), MaxComponents)
	}
	for i, name := range c.Components {
		if err := checkComponent(name); err != nil {
			return r, fmt.Errorf("file.components[%d] %q: %w", i, name, err)
		}
		r.conf.Comp[i] = nameRule(name, opRead|opWrite|opExec)
		r.conf.CompLens |= 1 << len(name)
	}
	r.conf.CompCount = uint32(len(c.Components))
	if !c.IgnoreMemfd {
		r.conf.Memfd = 1
	}
	return r, nil
}

func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty; want an absolute path such as /etc")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("not absolute; want a path starting with /")
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("holds a NUL byte")
	case len(filepath.Clean(p)) > MaxPathLen:
		return fmt.Errorf("%d bytes long; at most %d are compared", len(filepath.Clean(p)), MaxPathLen)
	}
	return nil
}

func checkComponent(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("not a file name; want a name such as .ssh")
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("holds / or NUL; want one path component")
	case len(name) > MaxComponentLen:
		return fmt.Errorf("%d bytes long; at most %d are supported", len(name), MaxComponentLen)
	}
	return nil
}

// add stores a directory as "dir/" (below it) and "dir\x00" (itself), a
// file as "file\x00". "/" watches every path.
func (r *rules) add(p string, ops uint32, dir bool) {
	if p == "/" {
		r.conf.RootOps |= ops
		return
	}
	if dir {
		r.keys[p+"/"] |= ops
	}
	r.keys[p+"\x00"] |= ops
}

// inherit gives every key the ops of the directories above it: the trie
// returns the longest match only.
func (r *rules) inherit() {
	for k := range r.keys {
		for d, ops := range r.keys {
			if d != k && strings.HasSuffix(d, "/") && strings.HasPrefix(k, d) {
				r.keys[k] |= ops
			}
		}
		r.keys[k] |= r.conf.RootOps
		if len(k) > int(r.conf.MaxKey) {
			r.conf.MaxKey = uint32(len(k))
		}
	}
}

// tops lists the top-level names below which something is watched, so
// that paths elsewhere are dismissed without being read. Past TOP_RULES
// names, the filter does without.
func (r *rules) tops() {
	ops := map[string]uint32{}
	for k, o := range r.keys {
		name, _, _ := strings.Cut(strings.TrimRight(k[1:], "\x00"), "/")
		ops[name] |= o
	}
	if len(ops) > len(r.conf.Top) {
		for _, o := range ops {
			r.conf.TopAny |= o
		}
		return
	}
	i := 0
	for name, o := range ops {
		r.conf.Top[i] = nameRule(name, o)
		i++
	}
	r.conf.TopCount = uint32(i)
}

// nameRule packs a name as the kernel compares it: its length and its
// first bytes, little-endian words, zero-padded.
func nameRule(name string, ops uint32) fileNameRule {
	rule := fileNameRule{Len: uint32(len(name)), Ops: fileWatchOp(ops)}
	var b [16]byte
	copy(b[:], name)
	for w := range rule.Word {
		for i := 7; i >= 0; i-- {
			rule.Word[w] = rule.Word[w]<<8 | uint64(b[w*8+i])
		}
	}
	return rule
}
