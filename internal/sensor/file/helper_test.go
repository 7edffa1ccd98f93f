package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary act as a helper process: it runs the job
// the variable names ("changes:N:DIR") and exits.
const helperEnv = "VIGIL_FILE_TEST_HELPER"

func runHelper(job string) int {
	name, args, _ := strings.Cut(job, ":")
	if name == "changes" {
		n, dir, _ := strings.Cut(args, ":")
		count, err := strconv.Atoi(n)
		if err == nil {
			err = changes(count, dir)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "helper: unknown job %q\n", job)
	return 2
}

// perRound is what one round of changes produces, by kind.
var perRound = map[string]uint64{
	"file_open": 1, "file_chmod": 1, "file_chown": 1, "file_truncate": 1, "file_link": 1,
	"file_symlink": 1, "file_rename": 1, "file_mkdir": 1, "file_unlink": 4, "memfd_create": 1,
}

// changes makes n rounds of every kind of change in dir, each one system
// call, each one event.
func changes(n int, dir string) error {
	for i := 0; i < n; i++ {
		p := func(s string) string { return filepath.Join(dir, fmt.Sprintf("%s%d", s, i)) }
		steps := []struct {
			name string
			do   func() error
		}{
			{"open", func() error {
				fd, err := unix.Open(p("f"), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
				if err == nil {
					unix.Close(fd)
				}
				return err
			}},
			{"chmod", func() error { return unix.Fchmodat(unix.AT_FDCWD, p("f"), 0o600, 0) }},
			{"chown", func() error { return unix.Fchownat(unix.AT_FDCWD, p("f"), -1, -1, 0) }},
			{"truncate", func() error { return unix.Truncate(p("f"), 0) }},
			{"link", func() error { return unix.Linkat(unix.AT_FDCWD, p("f"), unix.AT_FDCWD, p("h"), 0) }},
			{"symlink", func() error { return unix.Symlinkat("elsewhere", unix.AT_FDCWD, p("s")) }},
			{"rename", func() error { return unix.Renameat(unix.AT_FDCWD, p("h"), unix.AT_FDCWD, p("r")) }},
			{"mkdir", func() error { return unix.Mkdirat(unix.AT_FDCWD, p("d"), 0o755) }},
			{"unlink f", func() error { return unix.Unlinkat(unix.AT_FDCWD, p("f"), 0) }},
			{"unlink r", func() error { return unix.Unlinkat(unix.AT_FDCWD, p("r"), 0) }},
			{"unlink s", func() error { return unix.Unlinkat(unix.AT_FDCWD, p("s"), 0) }},
			{"rmdir", func() error { return unix.Unlinkat(unix.AT_FDCWD, p("d"), unix.AT_REMOVEDIR) }},
			{"memfd", func() error {
				fd, err := unix.MemfdCreate("vigil-acct", unix.MFD_CLOEXEC)
				if err == nil {
					unix.Close(fd)
				}
				return err
			}},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				return fmt.Errorf("round %d, %s: %w", i, s.name, err)
			}
		}
	}
	return nil
}
