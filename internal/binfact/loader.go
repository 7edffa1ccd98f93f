package binfact

import (
	"path"
	"regexp"
	"strings"
)

// loaderName matches the base names of the dynamic loaders: glibc's
// (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld-linux.so.2,
// ld64.so.2, ld.so.1) and musl's (ld-musl-x86_64.so.1).
var loaderName = regexp.MustCompile(`^(ld-linux([-_.a-z0-9]*)?|ld64|ld|ld-musl-[a-z0-9_]+)\.so\.[0-9]+$`)

// loaderValueOptions are the loader options that take the next argument
// as their value (glibc's and musl's).
var loaderValueOptions = map[string]bool{
	"--library-path": true, "--inhibit-rpath": true, "--audit": true, "--preload": true, "--argv0": true,
	"--glibc-hwcaps-prefix": true, "--glibc-hwcaps-mask": true,
}

// IsLoader reports whether binary is a dynamic loader by its base name.
func IsLoader(binary string) bool { return loaderName.MatchString(path.Base(binary)) }

// LoadedProgram returns the program a directly executed dynamic loader
// runs (`ld-linux-x86-64.so.2 [OPTION]... PROGRAM [ARG]...`): the first
// argument after the options, made absolute against cwd. It returns ""
// when binary is no loader, when the loader only lists or verifies
// (--list, --verify: what ldd asks, nothing runs) or prints (--help,
// --version, --list-tunables, --list-diagnostics), and when no program is
// named. The path is as given (a symbolic link is not resolved).
func LoadedProgram(binary string, args []string, cwd string) string {
	if !IsLoader(binary) || len(args) < 2 {
		return ""
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return absolute(args[i+1], cwd)
			}
			return ""
		case a == "--list" || a == "--verify" || a == "--help" || a == "--version" ||
			a == "--list-tunables" || a == "--list-diagnostics":
			return ""
		case loaderValueOptions[a]:
			i++ // its value
		case strings.HasPrefix(a, "--"):
			// --inhibit-cache, or an option=value form
		default:
			return absolute(a, cwd)
		}
	}
	return ""
}

func absolute(p, cwd string) string {
	if p == "" {
		return ""
	}
	if !path.IsAbs(p) {
		if cwd == "" {
			return p
		}
		p = path.Join(cwd, p)
	}
	return path.Clean(p)
}
