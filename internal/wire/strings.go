package wire

// Strings is a bounded table of the strings that records repeat: the
// binary, comm, working directory and cgroup of every process of one
// program are the same bytes exec after exec. A decoder that takes its
// strings from the table makes no allocation for one it has seen, and the
// processes the agent caches share one copy instead of holding one each.
// When the table is full it starts over (cleared whole): a table flooded
// with strings that never repeat costs what no table would, and stays
// bounded. A nil *Strings is valid and makes a fresh string every time.
// Not safe for concurrent use: the pipeline's goroutine owns it.
type Strings struct {
	m      map[string]string
	max    int // entries
	maxLen int // bytes of one string; longer ones are not kept
}

// NewStrings makes a table of at most max strings of at most maxLen bytes.
func NewStrings(max, maxLen int) *Strings {
	return &Strings{m: make(map[string]string, max), max: max, maxLen: maxLen}
}

// Bytes is b as a string, the table's when it holds one.
func (t *Strings) Bytes(b []byte) string {
	if t == nil || len(b) > t.maxLen {
		return string(b)
	}
	if s, ok := t.m[string(b)]; ok { // no allocation: the compiler's map lookup by bytes
		return s
	}
	if len(t.m) >= t.max {
		clear(t.m)
	}
	s := string(b)
	t.m[s] = s
	return s
}

// Path is Path(leafFirst), the table's when it holds it.
func (t *Strings) Path(leafFirst []byte) string {
	var buf [256]byte
	return t.Bytes(AppendPath(buf[:0], leafFirst))
}

// Len is how many strings the table holds.
func (t *Strings) Len() int {
	if t == nil {
		return 0
	}
	return len(t.m)
}
