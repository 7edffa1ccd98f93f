package rule

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// objType is one object of the event schema as CEL sees it: a name and
// fields with hand-written getters. Getters receive a non-nil pointer to
// the Go struct (absent objects are replaced by zero values, so that
// `parent.binary` is "" rather than an error when there is no parent).
type objType struct {
	name    string
	celType *types.Type
	fields  map[string]*types.FieldType
	order   []string
	// doc says what each field is for docs and `vigil rules fields`.
	doc map[string]string
	// adapt wraps nested objects that Get returns.
	adapt types.Adapter
	// strs, ints, bools, lists and maps read fields without boxing, for
	// the rule index and the pre-filter (prefilter.go).
	strs  map[string]func(obj any) string
	ints  map[string]func(obj any) int64
	bools map[string]func(obj any) bool
	lists map[string]func(obj any) []string
	maps  map[string]func(obj any) map[string]string
}

// fieldDef declares one field of an objType.
type fieldDef struct {
	name string
	typ  *types.Type
	get  func(obj any) any
	doc  string
	// At most one of these reads the field unboxed, by its type.
	str  func(obj any) string
	num  func(obj any) int64
	flag func(obj any) bool
	list func(obj any) []string
	smap func(obj any) map[string]string
}

func newObjType(name string, defs ...fieldDef) *objType {
	t := &objType{
		name:    name,
		celType: types.NewObjectType(name, traits.IndexerType, traits.FieldTesterType),
		fields:  make(map[string]*types.FieldType, len(defs)),
		doc:     make(map[string]string, len(defs)),
		strs:    map[string]func(any) string{},
		ints:    map[string]func(any) int64{},
		bools:   map[string]func(any) bool{},
		lists:   map[string]func(any) []string{},
		maps:    map[string]func(any) map[string]string{},
	}
	for _, d := range defs {
		get := d.get
		t.fields[d.name] = &types.FieldType{
			Type: d.typ,
			// Every field reads as its zero value when absent: rules
			// compare values, they do not test presence.
			IsSet:   func(any) bool { return true },
			GetFrom: func(obj any) (any, error) { return get(obj), nil },
		}
		t.order = append(t.order, d.name)
		t.doc[d.name] = d.doc
		if d.str != nil {
			t.strs[d.name] = d.str
		}
		if d.num != nil {
			t.ints[d.name] = d.num
		}
		if d.flag != nil {
			t.bools[d.name] = d.flag
		}
		if d.list != nil {
			t.lists[d.name] = d.list
		}
		if d.smap != nil {
			t.maps[d.name] = d.smap
		}
	}
	return t
}

// Field constructors. T is the Go struct the getter reads.

func strField[T any](name, doc string, get func(*T) string) fieldDef {
	return fieldDef{name: name, typ: types.StringType, doc: doc,
		get: func(o any) any { return types.String(get(o.(*T))) }, str: func(o any) string { return get(o.(*T)) }}
}

func intField[T any](name, doc string, get func(*T) int64) fieldDef {
	return fieldDef{name: name, typ: types.IntType, doc: doc,
		get: func(o any) any { return types.Int(get(o.(*T))) }, num: func(o any) int64 { return get(o.(*T)) }}
}

func boolField[T any](name, doc string, get func(*T) bool) fieldDef {
	return fieldDef{name: name, typ: types.BoolType, doc: doc,
		get: func(o any) any { return types.Bool(get(o.(*T))) }, flag: func(o any) bool { return get(o.(*T)) }}
}

func timeField[T any](name, doc string, get func(*T) time.Time) fieldDef {
	return fieldDef{name: name, typ: types.TimestampType, doc: doc,
		get: func(o any) any { return types.Timestamp{Time: get(o.(*T))} }}
}

func strListField[T any](name, doc string, get func(*T) []string) fieldDef {
	return fieldDef{name: name, typ: types.NewListType(types.StringType), doc: doc,
		get:  func(o any) any { return types.NewStringList(types.DefaultTypeAdapter, get(o.(*T))) },
		list: func(o any) []string { return get(o.(*T)) }}
}

// strMapField is a map of strings to strings.
func strMapField[T any](name, doc string, get func(*T) map[string]string) fieldDef {
	return fieldDef{name: name, typ: types.NewMapType(types.StringType, types.StringType), doc: doc,
		get:  func(o any) any { return types.NewStringStringMap(types.DefaultTypeAdapter, get(o.(*T))) },
		smap: func(o any) map[string]string { return get(o.(*T)) }}
}

// perEvent makes a process field's CEL value once per event and process
// (held in the procView, slot), however many conditions read it: for
// fields whose conversion allocates (CEL's list and map wrappers).
func perEvent(d fieldDef, slot func(*procView) *any) fieldDef {
	get := d.get
	d.get = func(o any) any {
		v := slot(o.(*procView))
		if *v == nil {
			*v = get(o)
		}
		return *v
	}
	return d
}

// objField returns the nested object, or zero when it is absent. The raw
// pointer is returned: CEL's field qualifiers read it directly and the
// adapter wraps it only if the object itself is used as a value.
func objField[T, U any](name, doc string, t *objType, zero *U, get func(*T) *U) fieldDef {
	return fieldDef{name: name, typ: t.celType, doc: doc, get: func(o any) any {
		if v := get(o.(*T)); v != nil {
			return v
		}
		return zero
	}}
}

// optUint reads an optional id as an int, -1 when absent.
func optUint(p *uint32) int64 {
	if p == nil {
		return -1
	}
	return int64(*p)
}

// schema is the event's type system for CEL: a types.Provider and
// types.Adapter layered over the environment's own.
type schema struct {
	baseProvider types.Provider
	baseAdapter  types.Adapter
	byName       map[string]*objType
	// wrap turns a Go value of one of the schema's structs into a CEL
	// object; ok is false for any other value.
	wrap func(v any) (ref.Val, bool)
}

// EnumValue implements types.Provider.
func (s *schema) EnumValue(name string) ref.Val { return s.baseProvider.EnumValue(name) }

// FindIdent implements types.Provider.
func (s *schema) FindIdent(name string) (ref.Val, bool) { return s.baseProvider.FindIdent(name) }

// FindStructType implements types.Provider.
func (s *schema) FindStructType(name string) (*types.Type, bool) {
	if t, ok := s.byName[name]; ok {
		return types.NewTypeTypeWithParam(t.celType), true
	}
	return s.baseProvider.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (s *schema) FindStructFieldNames(name string) ([]string, bool) {
	if t, ok := s.byName[name]; ok {
		return append([]string(nil), t.order...), true
	}
	return s.baseProvider.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (s *schema) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if t, ok := s.byName[name]; ok {
		ft, found := t.fields[field]
		return ft, found
	}
	return s.baseProvider.FindStructFieldType(name, field)
}

// NewValue implements types.Provider: event objects cannot be built in a
// condition.
func (s *schema) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := s.byName[name]; ok {
		return types.NewErr("%s values cannot be created in rules", name)
	}
	return s.baseProvider.NewValue(name, fields)
}

// NativeToValue implements types.Adapter.
func (s *schema) NativeToValue(v any) ref.Val {
	if obj, ok := s.wrap(v); ok {
		return obj
	}
	return s.baseAdapter.NativeToValue(v)
}

// object is an event struct seen from CEL.
type object struct {
	t *objType
	v any // pointer to the Go struct
}

func (o *object) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if reflect.TypeOf(o.v) == typeDesc {
		return o.v, nil
	}
	return nil, fmt.Errorf("%s cannot be converted to %v", o.t.name, typeDesc)
}

func (o *object) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return o.t.celType
	}
	if t.TypeName() == o.t.name {
		return o
	}
	return types.NewErr("type conversion error from %s to %s", o.t.name, t.TypeName())
}

func (o *object) Equal(other ref.Val) ref.Val {
	oo, ok := other.(*object)
	return types.Bool(ok && oo.t == o.t && reflect.DeepEqual(o.v, oo.v))
}

func (o *object) Type() ref.Type { return o.t.celType }
func (o *object) Value() any     { return o.v }

// Get implements traits.Indexer: obj["field"].
func (o *object) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.NewErr("no such key: %v", index)
	}
	ft, ok := o.t.fields[string(name)]
	if !ok {
		return types.NewErr("no such field %q in %s", string(name), o.t.name)
	}
	v, _ := ft.GetFrom(o.v)
	return o.t.adapt.NativeToValue(v)
}

// IsSet implements traits.FieldTester.
func (o *object) IsSet(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.NewErr("no such key: %v", field)
	}
	_, found := o.t.fields[string(name)]
	return types.Bool(found)
}

// fieldPaths lists every dotted field path below the given top-level
// variables, for suggestions and documentation.
func fieldPaths(vars []topVar, byName map[string]*objType) []string {
	var out []string
	var walk func(prefix string, t *objType, depth int)
	walk = func(prefix string, t *objType, depth int) {
		for _, f := range t.order {
			p := prefix + "." + f
			out = append(out, p)
			if sub, ok := byName[t.fields[f].Type.TypeName()]; ok && depth < 4 {
				walk(p, sub, depth+1)
			}
		}
	}
	for _, v := range vars {
		out = append(out, v.name)
		if t, ok := byName[v.typ.TypeName()]; ok {
			walk(v.name, t, 0)
		}
	}
	sort.Strings(out)
	return out
}

// typeLabel renders a CEL type for people: "string", "list(string)".
func typeLabel(t *types.Type) string {
	s := t.String()
	return strings.ReplaceAll(s, "vigil.", "")
}
