package privilege

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/kernel"
)

// TestToDispatch: where the kernel can load modules but lacks their
// tracepoints the dispatcher watches the module calls by default, and
// only them; asked for, every missing call; else none.
func TestToDispatch(t *testing.T) {
	var missing []callSpec
	for _, c := range calls() {
		switch c.name {
		case "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load":
			missing = append(missing, c)
		}
	}
	names := func(cs []callSpec) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.name)
		}
		slices.Sort(out)
		return out
	}
	all := names(missing)
	for _, c := range []struct {
		want      bool
		mode      string
		dispatch  []string
		offLength int
	}{
		{false, kernel.ModuleWatchDispatcher, []string{"delete_module", "finit_module", "init_module"}, 2},
		{false, kernel.ModuleWatchOff, nil, 5},
		{true, kernel.ModuleWatchOff, all, 0},
		{true, kernel.ModuleWatchDispatcher, all, 0},
	} {
		d, off := toDispatch(missing, c.want, c.mode)
		if !slices.Equal(names(d), c.dispatch) || len(off) != c.offLength {
			t.Errorf("want %v, mode %s: dispatch %v, off %v", c.want, c.mode, names(d), names(off))
		}
	}
}
