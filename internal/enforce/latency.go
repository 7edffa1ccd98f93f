package enforce

import (
	"os"
	"strconv"
	"syscall"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
)

func itoa(pid uint32) string { return strconv.FormatUint(uint64(pid), 10) }

// stampOf is a file's version as the exec guard's Stamp holds it.
func stampOf(fi os.FileInfo) execguard.Stamp {
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil {
		return execguard.Stamp{Size: fi.Size()}
	}
	return execguard.Stamp{MtimeSec: st.Mtim.Sec, MtimeNsec: uint32(st.Mtim.Nsec),
		CtimeSec: st.Ctim.Sec, CtimeNsec: uint32(st.Ctim.Nsec), Size: st.Size}
}
