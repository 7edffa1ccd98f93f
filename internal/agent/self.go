package agent

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enrich"
)

// ownExecutable is what the agent runs, through the kernel's link to it:
// the file this process was started from, even if it was since renamed,
// replaced or deleted.
const ownExecutable = "/proc/self/exe"

// executableKey identifies the file at path by device and inode, in the
// kernel's encoding the process sensor reports (major<<20 | minor).
func executableKey(path string) (enrich.FileKey, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return enrich.FileKey{}, fmt.Errorf("vigil's executable: stat %s: %w", path, err)
	}
	return enrich.FileKey{Dev: unix.Major(st.Dev)<<20 | unix.Minor(st.Dev), Inode: st.Ino}, nil
}
