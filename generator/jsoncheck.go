package generator

import (
	"fmt"
	"go/types"
	"reflect"
)

// Method sets that let a type control its own JSON form.
var (
	bytesType   = types.NewSlice(types.Typ[types.Byte])
	errorType   = types.Universe.Lookup("error").Type()
	unmarshaler = newInterface("UnmarshalJSON", types.NewTuple(types.NewParam(0, nil, "b", bytesType)), types.NewTuple(types.NewParam(0, nil, "", errorType)))
	textUnmarsh = newInterface("UnmarshalText", types.NewTuple(types.NewParam(0, nil, "b", bytesType)), types.NewTuple(types.NewParam(0, nil, "", errorType)))
	textMarsh   = newInterface("MarshalText", nil, types.NewTuple(types.NewParam(0, nil, "", bytesType), types.NewParam(0, nil, "", errorType)))
	marshaler   = newInterface("MarshalJSON", nil, types.NewTuple(types.NewParam(0, nil, "", bytesType), types.NewParam(0, nil, "", errorType)))
)

func newInterface(method string, params, results *types.Tuple) *types.Interface {
	sig := types.NewSignatureType(nil, nil, nil, params, results, false)
	it := types.NewInterfaceType([]*types.Func{types.NewFunc(0, nil, method, sig)}, nil)
	it.Complete()
	return it
}

// decodesItself reports whether *T implements json.Unmarshaler or
// encoding.TextUnmarshaler.
func decodesItself(t types.Type) bool {
	p := types.NewPointer(t)
	return types.Implements(p, unmarshaler) || types.Implements(p, textUnmarsh)
}

// encodesItself reports whether T or *T implements json.Marshaler or
// encoding.TextMarshaler.
func encodesItself(t types.Type) bool {
	p := types.NewPointer(t)
	return types.Implements(t, marshaler) || types.Implements(p, marshaler) ||
		types.Implements(t, textMarsh) || types.Implements(p, textMarsh)
}

// jsonChecker finds types that cannot round-trip through encoding/json in a
// payload struct declared in package target.
type jsonChecker struct {
	target string
	qual   types.Qualifier
	seen   map[*types.Named]bool
}

// jsonProblem returns why values of type t cannot round-trip through
// encoding/json as a field of a payload struct declared in package target,
// or "" if they can. qual formats types in the message.
func jsonProblem(t types.Type, target string, qual types.Qualifier) string {
	c := &jsonChecker{target: target, qual: qual, seen: map[*types.Named]bool{}}
	return c.check(t, true)
}

// check checks t. rendered reports whether t is written out in the
// generated code (so its named types must be nameable there) rather than
// reached through a named type.
func (c *jsonChecker) check(t types.Type, rendered bool) string {
	switch t := t.(type) {
	case *types.Alias:
		obj := t.Obj()
		if _, ok := types.Unalias(t).(*types.Interface); ok {
			return ifaceProblem(types.TypeString(t, c.qual))
		}
		if obj.Pkg() != nil && (obj.Exported() || obj.Pkg().Path() == c.target) {
			// Rendered by its own name: what it stands for need not be
			// nameable.
			return c.check(types.Unalias(t), false)
		}
		return c.check(types.Unalias(t), rendered)
	case *types.Named:
		obj := t.Obj()
		if rendered && obj.Pkg() != nil && !obj.Exported() && obj.Pkg().Path() != c.target {
			return fmt.Sprintf("type %s is unexported, so the generated package cannot name it; export it, or declare the signal with //signal:define in package %s", types.TypeString(t, c.qual), obj.Pkg().Name())
		}
		if rendered {
			for i := 0; i < t.TypeArgs().Len(); i++ {
				if p := c.check(t.TypeArgs().At(i), true); p != "" {
					return p
				}
			}
		}
		if c.seen[t] || decodesItself(t) {
			return ""
		}
		c.seen[t] = true
		if _, ok := t.Underlying().(*types.Interface); ok {
			return ifaceProblem(types.TypeString(t, c.qual))
		}
		return c.check(t.Underlying(), false)
	case *types.Basic:
		switch {
		case t.Info()&types.IsComplex != 0:
			return fmt.Sprintf("%s is a complex number, which encoding/json cannot encode", t.Name())
		case t.Kind() == types.UnsafePointer:
			return "unsafe.Pointer cannot be encoded"
		case t.Kind() == types.Invalid:
			return "the type is invalid"
		}
		return ""
	case *types.Pointer:
		return c.check(t.Elem(), rendered)
	case *types.Slice:
		return c.check(t.Elem(), rendered)
	case *types.Array:
		return c.check(t.Elem(), rendered)
	case *types.Map:
		key := t.Key()
		if b, ok := key.Underlying().(*types.Basic); ok && b.Info()&(types.IsString|types.IsInteger) != 0 {
			// fine
		} else if !(types.Implements(key, textMarsh) && decodesItself(key)) {
			return fmt.Sprintf("map key type %s is not a string, an integer, or an encoding.TextMarshaler and TextUnmarshaler", types.TypeString(key, c.qual))
		}
		if p := c.check(key, rendered); p != "" {
			return p
		}
		return c.check(t.Elem(), rendered)
	case *types.Struct:
		for i := 0; i < t.NumFields(); i++ {
			f := t.Field(i)
			tag := reflect.StructTag(t.Tag(i)).Get("json")
			if tag == "-" {
				continue
			}
			if !f.Exported() && !f.Embedded() {
				if rendered {
					return fmt.Sprintf("struct field %s is unexported: encoding/json ignores it", f.Name())
				}
				continue
			}
			if p := c.check(f.Type(), rendered); p != "" {
				return fmt.Sprintf("field %s: %s", f.Name(), p)
			}
		}
		return ""
	case *types.Chan:
		return fmt.Sprintf("%s is a channel, which encoding/json cannot encode", types.TypeString(t, c.qual))
	case *types.Signature:
		return fmt.Sprintf("%s is a func, which encoding/json cannot encode", types.TypeString(t, c.qual))
	case *types.Interface:
		return ifaceProblem(types.TypeString(t, c.qual))
	case *types.TypeParam:
		return fmt.Sprintf("%s is a type parameter", t.Obj().Name())
	}
	return fmt.Sprintf("%s is not supported", types.TypeString(t, c.qual))
}

func ifaceProblem(typ string) string {
	return fmt.Sprintf("%s is an interface, and encoding/json cannot decode into an interface: it does not know which concrete type to create", typ)
}
