package rule

import (
	"net/netip"
	"path"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
)

// Function names rules can call besides CEL's standard library and its
// string extensions.
const (
	fnTracked      = "tracked"
	fnTrackedCount = "tracked_count"
)

// celEnv is the base environment: the event's variables and vigil's
// functions. Lists and macros are declared on top of it per rule set.
type celEnv struct {
	env    *cel.Env
	schema *schema
	vars   []topVar
	// varIndex maps a top-level variable to its position in vars.
	varIndex map[string]int
	paths    []string
}

func newCELEnv() (*celEnv, error) {
	ce := &celEnv{varIndex: map[string]int{}}
	base, err := cel.NewEnv(ext.Strings())
	if err != nil {
		return nil, err
	}
	ce.schema, ce.vars = newSchema(base.CELTypeProvider(), base.CELTypeAdapter())
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(ce.schema),
		cel.CustomTypeAdapter(ce.schema),
	}
	for i, v := range ce.vars {
		opts = append(opts, cel.Variable(v.name, v.typ))
		ce.varIndex[v.name] = i
	}
	opts = append(opts, vigilFunctions()...)
	if ce.env, err = base.Extend(opts...); err != nil {
		return nil, err
	}
	ce.paths = fieldPaths(ce.vars, ce.schema.byName)
	return ce, nil
}

// functions declares vigil's helpers. All are pure except tracked and
// tracked_count, whose implementations each engine supplies at
// evaluation time (they read the engine's state tables).
func vigilFunctions() []cel.EnvOption {
	str, strList, b := cel.StringType, cel.ListType(cel.StringType), cel.BoolType
	dot := ref.Val(types.String("."))
	unaryStr := func(f func(string) string) cel.OverloadOpt {
		return cel.UnaryBinding(func(v ref.Val) ref.Val { return reboxed(v, f(string(v.(types.String))), dot) })
	}
	strListPred := func(pred func(s, x string) bool) cel.OverloadOpt {
		return cel.BinaryBinding(func(lhs, rhs ref.Val) ref.Val {
			s := string(lhs.(types.String))
			l := rhs.(traits.Lister)
			for i, n := types.Int(0), listSize(l); i < n; i++ {
				if x, ok := l.Get(i).(types.String); ok && pred(s, string(x)) {
					return types.True
				}
			}
			return types.False
		})
	}
	return []cel.EnvOption{
		cel.Function("basename", cel.Overload("basename_string", []*cel.Type{str}, str, unaryStr(path.Base))),
		cel.Function("dirname", cel.Overload("dirname_string", []*cel.Type{str}, str, unaryStr(path.Dir))),
		cel.Function("inCIDR",
			cel.MemberOverload("string_in_cidr_string", []*cel.Type{str, str}, b, cel.BinaryBinding(inCIDR)),
			cel.MemberOverload("string_in_cidr_list", []*cel.Type{str, strList}, b, cel.BinaryBinding(inCIDR))),
		cel.Function("glob", cel.MemberOverload("string_glob_string", []*cel.Type{str, str}, b,
			cel.BinaryBinding(func(lhs, rhs ref.Val) ref.Val {
				ok, err := path.Match(string(rhs.(types.String)), string(lhs.(types.String)))
				if err != nil {
					return types.NewErr("glob %q: %v", string(rhs.(types.String)), err)
				}
				return types.Bool(ok)
			}))),
		cel.Function("startsWithAny", cel.MemberOverload("string_starts_with_any_list", []*cel.Type{str, strList}, b,
			strListPred(strings.HasPrefix))),
		cel.Function("endsWithAny", cel.MemberOverload("string_ends_with_any_list", []*cel.Type{str, strList}, b,
			strListPred(strings.HasSuffix))),
		cel.Function("containsAny", cel.MemberOverload("string_contains_any_list", []*cel.Type{str, strList}, b,
			strListPred(strings.Contains))),
		cel.Function("hasAny", cel.MemberOverload("list_has_any_list", []*cel.Type{strList, strList}, b,
			cel.BinaryBinding(hasAny))),
		cel.Function("anyStartsWith", cel.MemberOverload("list_any_starts_with_list", []*cel.Type{strList, strList}, b,
			cel.BinaryBinding(anyElement(strings.HasPrefix)))),
		cel.Function("anyEndsWith", cel.MemberOverload("list_any_ends_with_list", []*cel.Type{strList, strList}, b,
			cel.BinaryBinding(anyElement(strings.HasSuffix)))),
		cel.Function("anyContains", cel.MemberOverload("list_any_contains_list", []*cel.Type{strList, strList}, b,
			cel.BinaryBinding(anyElement(strings.Contains)))),
		cel.Function("hasBits", cel.MemberOverload("int_has_bits_int", []*cel.Type{cel.IntType, cel.IntType}, b,
			cel.BinaryBinding(func(lhs, rhs ref.Val) ref.Val {
				x, mask := lhs.(types.Int), rhs.(types.Int)
				return types.Bool(x&mask == mask)
			}))),
		cel.Function("anyBits", cel.MemberOverload("int_any_bits_int", []*cel.Type{cel.IntType, cel.IntType}, b,
			cel.BinaryBinding(func(lhs, rhs ref.Val) ref.Val {
				return types.Bool(lhs.(types.Int)&rhs.(types.Int) != 0)
			}))),
		cel.Function(fnTracked, cel.Overload("tracked_string_string", []*cel.Type{str, str}, b, cel.LateFunctionBinding())),
		cel.Function(fnTrackedCount, cel.Overload("tracked_count_string_string", []*cel.Type{str, str}, cel.IntType, cel.LateFunctionBinding())),
	}
}

// inCIDR tests an address string against a prefix or a list of prefixes.
// An empty or unparsable address is in no prefix.
func inCIDR(lhs, rhs ref.Val) ref.Val {
	addr, err := netip.ParseAddr(string(lhs.(types.String)))
	if err != nil {
		return types.False
	}
	addr = addr.Unmap()
	test := func(p string) ref.Val {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return types.NewErr("inCIDR: %q is not a CIDR prefix", p)
		}
		return types.Bool(prefix.Contains(addr))
	}
	if s, ok := rhs.(types.String); ok {
		return test(string(s))
	}
	l := rhs.(traits.Lister)
	for i, n := types.Int(0), listSize(l); i < n; i++ {
		s, ok := l.Get(i).(types.String)
		if !ok {
			continue
		}
		if v := test(string(s)); v != types.False {
			return v
		}
	}
	return types.False
}

// anyElement builds list.f(list): whether some element of the first list
// and some of the second satisfy pred. Native, so that rules need no
// comprehension (each of whose steps costs far more) for such tests.
func anyElement(pred func(s, x string) bool) func(lhs, rhs ref.Val) ref.Val {
	return func(lhs, rhs ref.Val) ref.Val {
		l, r := lhs.(traits.Lister), rhs.(traits.Lister)
		for i, n := types.Int(0), listSize(l); i < n; i++ {
			s, ok := l.Get(i).(types.String)
			if !ok {
				continue
			}
			for j, m := types.Int(0), listSize(r); j < m; j++ {
				if x, ok := r.Get(j).(types.String); ok && pred(string(s), string(x)) {
					return types.True
				}
			}
		}
		return types.False
	}
}

// hasAny says whether two string lists share an element.
func hasAny(lhs, rhs ref.Val) ref.Val {
	l, r := lhs.(traits.Lister), rhs.(traits.Lister)
	for i, n := types.Int(0), listSize(l); i < n; i++ {
		if r.Contains(l.Get(i)) == types.True {
			return types.True
		}
	}
	return types.False
}

// The helpers walk lists by index (Size, Get) rather than with an
// iterator, which CEL allocates for every walk; the elements and their
// order are the same.

// listSize is the number of elements of l.
func listSize(l traits.Lister) types.Int {
	n, _ := l.Size().(types.Int)
	return n
}

// reboxed is out as a CEL string, without a new box where one exists: the
// argument in itself when out is its string (basename("bash")), dot for
// "." (basename and dirname of ""). A box is immutable: sharing one
// changes nothing but the allocation.
func reboxed(in ref.Val, out string, dot ref.Val) ref.Val {
	switch {
	case out == string(in.(types.String)):
		return in
	case out == ".":
		return dot
	}
	return types.String(out)
}
