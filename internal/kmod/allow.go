package kmod

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Candidate is a module file an allowlist may approve: one that the
// kernel's modules.dep lists, with what identifies it to the kernel at
// finit_module (device, inode, size and change time: a write changes the
// change time, which no one can set back) and what an allowlist names.
type Candidate struct {
	Name   string
	Path   string // as modules.dep gives it, made absolute under the module directory
	SHA256 string
	Signer string // the appended signature's signer, "" when unsigned or unread
	// Dev is the device as the kernel's s_dev keeps it (major<<20 | minor).
	Dev, Ino, Size      uint64
	CtimeSec, CtimeNsec int64
}

// Candidates reads every file modules.dep lists under root's
// /lib/modules/RELEASE (release "" is root's running one). A file that
// cannot be read is a problem, named, and left out: it is never approved.
func Candidates(root, release string) ([]Candidate, []string) {
	if release == "" {
		b, err := os.ReadFile(filepath.Join(root, "/proc/sys/kernel/osrelease"))
		if err != nil {
			return nil, []string{fmt.Sprintf("kernel release: %v", err)}
		}
		release = strings.TrimSpace(string(b))
	}
	dir := path.Join("/lib/modules", release)
	dep := path.Join(dir, "modules.dep")
	b, err := os.ReadFile(filepath.Join(root, dep))
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", dep, err)}
	}
	var out []Candidate
	var problems []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		ko, _, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			if strings.TrimSpace(sc.Text()) != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: no ':' after the module's path", dep, n))
			}
			continue
		}
		if !path.IsAbs(ko) {
			ko = path.Join(dir, ko)
		}
		c, err := candidate(filepath.Join(root, ko))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", ko, err))
			continue
		}
		c.Path = ko
		out = append(out, c)
	}
	return out, problems
}

// candidate reads one file: identity first, then the content, then the
// identity again, so that a file replaced meanwhile is not approved by
// the hash of another.
func candidate(file string) (Candidate, error) {
	var before, after unix.Stat_t
	if err := unix.Stat(file, &before); err != nil {
		return Candidate{}, err
	}
	f, err := ReadFile(file)
	if err != nil {
		return Candidate{}, err
	}
	if err := unix.Stat(file, &after); err != nil {
		return Candidate{}, err
	}
	if before.Ino != after.Ino || before.Dev != after.Dev || before.Ctim != after.Ctim || before.Size != after.Size {
		return Candidate{}, fmt.Errorf("changed while it was read")
	}
	c := Candidate{Name: NameOfPath(file), SHA256: f.SHA256, Ino: after.Ino, Size: uint64(after.Size),
		Dev:      uint64(unix.Major(after.Dev))<<20 | uint64(unix.Minor(after.Dev)),
		CtimeSec: after.Ctim.Sec, CtimeNsec: after.Ctim.Nsec}
	if f.Signature != nil {
		c.Signer = f.Signature.Signer
	}
	return c, nil
}
