package output

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// eventKinds reads the Kind constants declared in internal/event, so that
// a kind added there and forgotten here fails this test.
func eventKinds(t *testing.T) []event.Kind {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../event", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Kind
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				vs, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
					return true
				}
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						out = append(out, event.Kind(s))
					}
				}
				return true
			})
		}
	}
	if len(out) < 30 {
		t.Fatalf("found %d kinds in internal/event: the parse went wrong", len(out))
	}
	return out
}

func TestKindsAreEveryOutputKind(t *testing.T) {
	kinds := Kinds()
	for _, k := range eventKinds(t) {
		switch k {
		case event.KindProcessFork, event.KindAlert:
			if slices.Contains(kinds, k) {
				t.Errorf("%s is listed, but never reaches an output as an event", k)
			}
			continue
		}
		if !slices.Contains(kinds, k) {
			t.Errorf("%s is a kind of internal/event that Kinds leaves out", k)
		}
	}
	for _, k := range kinds {
		if icon, _ := KindIcon(k); icon == "❓" {
			t.Errorf("%s has no icon", k)
		}
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%s) = %s, %v", k, got, err)
		}
	}
}

func TestParseKindSaysWhatIsValid(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"proces_exec", "did you mean process_exec?"},
		{"net_conect", "did you mean net_connect?"},
		{"exec", "did you mean process_exec?"},
		{"bogus", "valid kinds: process_exec, process_exit, file_open"},
		{"process_fork", "forks only feed the process cache"},
		{"alert", "type=alerts"},
	} {
		_, err := ParseKind(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKind(%q): %v: want it to say %q", c.in, err, c.want)
		}
	}
	if _, err := ParseKind("bogus"); strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a far-fetched suggestion: %v", err)
	}
}
