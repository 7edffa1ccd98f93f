package file

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"time"
)

// Limits of what the kernel side compares.
const (
	// MaxPathLen is the longest watched path, in bytes.
	MaxPathLen = 254
	// MaxComponents is how many component names can be watched, both
	// lists together.
	MaxComponents = 64
	// MaxComponentLen is the longest component name, in bytes.
	MaxComponentLen = 31
	// MaxXattrPrefixes is how many xattr name prefixes can be watched.
	MaxXattrPrefixes = len(fileFilterConf{}.XattrWord)
	// MaxXattrPrefixLen is the longest xattr name prefix, in bytes.
	MaxXattrPrefixLen = len(fileFilterConf{}.XattrWord[0]) * 8
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
	// ComponentWrites lists names that make a path's changes watched
	// wherever they appear in it: ".bashrc" covers every user's, wherever
	// the home directory is; "release_agent" every cgroup v1 hierarchy's,
	// wherever it is mounted.
	ComponentWrites []string
	// ExecDirs lists directories where executables appearing are
	// reported: a regular file with an x bit opened for writing, or a
	// chmod that sets an x bit.
	ExecDirs []string
	// FileWrites lists directories where files written as files are
	// reported: a regular file opened for writing or created, and every
	// other change; not a device, fifo or socket opened for writing
	// (/dev/null, a tty).
	FileWrites []string
	// DeleteDirs lists directories where removals are reported: unlink,
	// rmdir, and a rename away.
	DeleteDirs []string
	// SetidDirs lists directories where a chmod that sets the setuid or
	// setgid bit is reported, with or without an x bit; "/" is everywhere.
	SetidDirs []string
	// HiddenDirs lists directories where a name starting with '.' made
	// directly in them is reported: a file created (a successful open
	// with O_CREAT), a directory made, a symlink made, or the new name of
	// a link or rename. Only names directly in the directory count
	// (/tmp/.x, not /tmp/build/.git); "/" is every directory.
	HiddenDirs []string
	// AliasRefresh is how often the identities (device, inode) of the
	// watched files (Exact, and the files directly in Watch) are taken
	// again, so that a file replaced by a rename is still recognised
	// through another name; 0 is DefaultAliasRefresh, < 0 never (only at
	// load and Update).
	AliasRefresh time.Duration
	// IgnoreMemfd turns memfd_create events off; by default every
	// memfd_create is reported (no path to filter on).
	IgnoreMemfd bool
	// XattrPrefixes lists the extended attribute name prefixes whose
	// changes (setxattr, removexattr and their l, f and at forms) are
	// reported, on any path; at most MaxXattrPrefixes, each at most
	// MaxXattrPrefixLen bytes.
	XattrPrefixes []string
}

// DefaultConfig is what the agent watches unless told otherwise, chosen
// for what the default rule pack (rules/20-files.yaml) looks at.
//
// Reads are watched only where reading is itself the attack: password
// hashes (and their backups), sudo rules, host keys and sshd's
// configuration, the PAM stack (read to find how logins are checked before
// a PAM backdoor is planted), shell startup files (read by anything but a
// starting shell: reconnaissance before they are changed, Falco's "read
// shell configuration file"). Reads elsewhere under /etc happen thousands
// of times a second (ld.so.cache at every exec) and say nothing.
//
// Changes are watched where a change alters what runs or who may log in,
// or hides tracks: binaries and libraries, /etc (cron, systemd units,
// ld.so.preload, PAM modules' configuration, profile scripts), /root,
// /boot, cron and at spools, logs; the kernel's user-mode helpers and
// every sysctl (/proc/sys: core_pattern, modprobe, binfmt_misc/register;
// /sys/kernel/uevent_helper), which a container escape rewrites; and, by
// name wherever they are, cgroup v1 release_agent files (an escape mounts
// its own cgroup hierarchy anywhere) and the files of every user's home,
// wherever it is: shell startup files, shell and REPL histories, and
// ~/.config (user systemd units, fish's configuration). Homes are matched
// by name rather than below /home: service accounts live elsewhere, and
// the rest of a home directory is busy and says little.
func DefaultConfig() Config {
	return Config{
		// and mail spools: local email collection
		Watch: []string{"/etc/ssh", "/etc/sudoers.d", "/etc/pam.d", "/var/mail", "/var/spool/mail", "/etc/zsh"},
		Exact: []string{
			"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
			"/etc/sudoers", "/etc/security/opasswd", "/etc/pam.conf",
			// the system-wide shell startup files: read by shells at
			// start, by anything else to learn how logins are set up
			"/etc/profile", "/etc/bash.bashrc", "/etc/bashrc", "/etc/zshrc", "/etc/csh.cshrc",
			"/etc/csh.login",
		},
		WatchWrites: []string{
			"/etc", "/root", "/boot",
			"/bin", "/sbin", "/lib", "/lib64",
			"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/local/bin", "/usr/local/sbin",
			"/var/log", "/var/spool/cron", "/var/spool/anacron", "/var/spool/at",
			"/proc/sys", "/sys/kernel/uevent_helper",
			// the RPM database: what the host believes is installed
			"/var/lib/rpm",
		},
		// a pod's service account token, wherever its volume is mounted
		// (/var/run/secrets/kubernetes.io/serviceaccount/..data/token):
		// read by API clients at start and at rotation, else by a thief
		// ~/.netrc and ~/.gnupg: credentials and private keys; "mem":
		// /proc/PID/mem (another process's memory) and /dev/mem
		// shell startup files: changed to persist, read to learn the
		// environment (shells reading their own at start are reported
		// too; the rules tell them apart)
		Components: []string{".ssh", "serviceaccount", ".netrc", ".gnupg", "mem",
			".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
			".zshrc", ".zprofile", ".zshenv", ".zlogin", ".cshrc", ".tcshrc", ".kshrc",
		},
		ComponentWrites: []string{
			"release_agent",
			// user systemd units (~/.config/systemd/user), fish's config.fish
			".config",
			// histories: deleting or emptying them hides tracks
			".bash_history", ".zsh_history", ".sh_history", ".ash_history", ".ksh_history",
			".history", "fish_history", ".mysql_history", ".psql_history", ".python_history",
			".node_repl_history", ".sqlite_history", ".rediscli_history", ".lesshst",
			// histories without their dot (HISTFILE pointed elsewhere)
			"bash_history", "zsh_history", "sh_history", "ash_history", "ksh_history",
			// system logs wherever they are (a chroot, a container's
			// /var/log mounted elsewhere): truncating one hides tracks
			"syslog", "auth.log", "kern.log", "messages", "secure", "wtmp", "btmp", "lastlog",
			// Python startup hooks: a .pth file there runs at every start
			"site-packages", "dist-packages",
		},
		ExecDirs: []string{"/tmp", "/var/tmp", "/dev/shm"},
		// files made below /dev hide there (Falco's "create files below
		// dev"); /dev/null and ttys written all day are devices
		FileWrites: []string{"/dev"},
		// droppers delete their payload from /tmp after running it
		DeleteDirs: []string{"/tmp"},
		// a setuid or setgid bit set anywhere, an x bit or not
		SetidDirs: []string{"/"},
		// the world-writable shared places, where a dot name keeps a
		// payload out of a plain ls; not /run/user/UID, each user's own
		// (mode 0700), which desktop sessions fill with dot names
		HiddenDirs: []string{"/tmp", "/var/tmp", "/dev/shm"},
		// file capabilities (security.capability), SELinux, SMACK and IMA
		// labels, overlayfs' and other trusted attributes, POSIX ACLs;
		// not user.*, which desktops and file managers write all day
		XattrPrefixes: []string{"security.", "trusted.", "system.posix_acl_"},
	}
}

// withDefaults fills the lists the caller left nil.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	for _, f := range []struct{ dst, src *[]string }{
		{&c.Watch, &def.Watch}, {&c.Exact, &def.Exact}, {&c.WatchWrites, &def.WatchWrites},
		{&c.Components, &def.Components}, {&c.ComponentWrites, &def.ComponentWrites},
		{&c.ExecDirs, &def.ExecDirs}, {&c.XattrPrefixes, &def.XattrPrefixes},
		{&c.FileWrites, &def.FileWrites}, {&c.DeleteDirs, &def.DeleteDirs}, {&c.SetidDirs, &def.SetidDirs},
		{&c.HiddenDirs, &def.HiddenDirs},
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
	opFile  = uint32(fileWatchOpWATCH_FILE)
	opDel   = uint32(fileWatchOpWATCH_DELETE)
	opSetid = uint32(fileWatchOpWATCH_SETID)
	// opHidden is on a directory's own key only: names made directly in it
	opHidden = uint32(fileWatchOpWATCH_HIDDEN)
)

// rules is a Config compiled for the kernel: trie keys, the watch tree
// and the filter table.
type rules struct {
	aliasPaths map[string]uint32 // files watched by identity too
	keys       map[string]uint32 // "dir/", "dir\x00" or "file\x00" → ops
	comps      map[string]uint32 // component name → ops
	conf       fileFilterConf
	tree       fileWatchTree
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
		{"file.file_writes", c.FileWrites, opFile, true},
		{"file.delete_dirs", c.DeleteDirs, opDel, true},
		{"file.setid_dirs", c.SetidDirs, opSetid, true},
		{"file.hidden_dirs", c.HiddenDirs, opHidden, false},
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
	if n := len(c.Components) + len(c.ComponentWrites); n > MaxComponents {
		return r, fmt.Errorf("file.components and file.component_writes: %d names, at most %d are supported", n, MaxComponents)
	}
	r.comps = map[string]uint32{}
	for _, l := range []struct {
		field string
		names []string
		ops   uint32
	}{
		{"file.components", c.Components, opRead | opWrite | opExec},
		{"file.component_writes", c.ComponentWrites, opWrite},
	} {
		for i, name := range l.names {
			if err := checkComponent(name); err != nil {
				return r, fmt.Errorf("%s[%d] %q: %w", l.field, i, name, err)
			}
			r.comps[name] |= l.ops
			for i, class := range []uint32{opRead, opWrite} { // comp_maybe's two
				if l.ops&class != 0 {
					r.conf.CompLens[i] |= 1 << len(name)
					r.conf.CompFirst[i][name[0]>>6] |= 1 << (name[0] & 63)
				}
			}
			r.conf.AllOps |= l.ops
		}
	}
	if err := r.buildTree(); err != nil {
		return r, err
	}
	r.conf.AllOps |= r.conf.RootOps
	for _, ops := range r.keys {
		r.conf.AllOps |= ops
	}
	if !c.IgnoreMemfd {
		r.conf.Memfd = 1
	}
	if err := r.xattrPrefixes(c.XattrPrefixes); err != nil {
		return r, err
	}
	r.aliasPaths = c.aliasPaths()
	if len(r.aliasPaths) > 0 {
		r.conf.Aliases = 1
	}
	return r, nil
}

// xattrPrefixes writes the xattr name prefixes into the filter table as
// the kernel compares them: the name's first words, masked, equal the
// prefix's words.
func (r *rules) xattrPrefixes(prefixes []string) error {
	if len(prefixes) > MaxXattrPrefixes {
		return fmt.Errorf("file.xattr_prefixes: %d prefixes, at most %d are supported", len(prefixes), MaxXattrPrefixes)
	}
	for i, p := range prefixes {
		switch {
		case p == "":
			return fmt.Errorf("file.xattr_prefixes[%d]: empty; want a prefix such as \"security.\"", i)
		case len(p) > MaxXattrPrefixLen:
			return fmt.Errorf("file.xattr_prefixes[%d] %q: %d bytes long; at most %d are compared", i, p, len(p), MaxXattrPrefixLen)
		case strings.IndexByte(p, 0) >= 0:
			return fmt.Errorf("file.xattr_prefixes[%d] %q: holds a NUL byte", i, p)
		}
		r.conf.XattrWord[i] = nameWords(p)
		r.conf.XattrMask[i] = nameWords(strings.Repeat("\xff", len(p)))
	}
	r.conf.XattrN = uint32(len(prefixes))
	return nil
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
// returns the longest match only. file_writes' op is the exception: a
// directory another list names (/dev/shm, an exec dir below /dev) is that
// list's to decide, so that shared memory files written all day below
// /dev/shm stay in the kernel.
func (r *rules) inherit() {
	own := maps.Clone(r.keys)
	for k := range r.keys {
		for d, ops := range own {
			if d != k && strings.HasSuffix(d, "/") && strings.HasPrefix(k, d) {
				r.keys[k] |= ops &^ opFile
			}
		}
		r.keys[k] |= r.conf.RootOps
		if len(k) > int(r.conf.MaxKey) {
			r.conf.MaxKey = uint32(len(k))
		}
	}
}
