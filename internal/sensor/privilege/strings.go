package privilege

import (
	"path"
	"strings"

	"github.com/vigil-sec/vigil/internal/wire"
)

// blob reads the strings a record references by its str_refs.
type blob struct{ *wire.Blob }

func (b blob) ref(r privilegeStrRef) string { return b.String(r.Off, r.Len) }

// pathRef joins a path written leaf first; "" when absent.
func (b blob) pathRef(r privilegeStrRef) string { return b.Path(r.Off, r.Len) }

// resolve makes p absolute against base, the directory the kernel
// resolves it from; p stays as given when it is absolute or base unknown.
func resolve(base, p string) string {
	if base == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return path.Join(base, p)
}
