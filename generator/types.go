package generator

import (
	"go/types"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"
)

// typeRenderer renders go/types types as jennifer code for a file of
// package local. It is the one place that decides how a type is written:
// named types and exported aliases by qualified name; unexported aliases of
// other packages by what they stand for.
type typeRenderer struct {
	local string
	// use, if set, is told every package the rendered code refers to.
	use func(*types.Package)
}

// qual renders a reference to the package-level name of pkg.
func (r *typeRenderer) qual(pkg *types.Package, name string) *jen.Statement {
	if pkg == nil {
		return jen.Id(name)
	}
	if r.use != nil && pkg.Path() != r.local {
		r.use(pkg)
	}
	return jen.Qual(pkg.Path(), name)
}

// code renders t.
//
//	[]orders.Line, map[string]*Item, struct{ At time.Time `json:"at"` }
func (r *typeRenderer) code(t types.Type) jen.Code {
	switch t := t.(type) {
	case *types.Alias:
		obj := t.Obj()
		if obj.Pkg() == nil {
			return jen.Id(obj.Name()) // any
		}
		if !obj.Exported() && obj.Pkg().Path() != r.local {
			return r.code(types.Unalias(t))
		}
		return r.withArgs(r.qual(obj.Pkg(), obj.Name()), t.TypeArgs())
	case *types.Named:
		obj := t.Obj()
		return r.withArgs(r.qual(obj.Pkg(), obj.Name()), t.TypeArgs())
	case *types.Basic:
		return jen.Id(t.Name())
	case *types.Pointer:
		return jen.Op("*").Add(r.code(t.Elem()))
	case *types.Slice:
		return jen.Index().Add(r.code(t.Elem()))
	case *types.Array:
		return jen.Index(jen.Lit(int(t.Len()))).Add(r.code(t.Elem()))
	case *types.Map:
		return jen.Map(r.code(t.Key())).Add(r.code(t.Elem()))
	case *types.Struct:
		var fields []jen.Code
		for i := 0; i < t.NumFields(); i++ {
			f := t.Field(i)
			var s *jen.Statement
			if f.Embedded() {
				s = jen.Add(r.code(f.Type()))
			} else {
				s = jen.Id(f.Name()).Add(r.code(f.Type()))
			}
			if tag := t.Tag(i); tag != "" {
				s.Add(rawTag(tag))
			}
			fields = append(fields, s)
		}
		return jen.Struct(fields...)
	}
	// Channels, funcs, interfaces and type parameters never reach here:
	// the checks reject them.
	return jen.Id(types.TypeString(t, func(p *types.Package) string { return p.Name() }))
}

// withArgs adds type arguments: Page[orders.Line].
func (r *typeRenderer) withArgs(s *jen.Statement, args *types.TypeList) *jen.Statement {
	if args.Len() == 0 {
		return s
	}
	var cs []jen.Code
	for i := 0; i < args.Len(); i++ {
		cs = append(cs, r.code(args.At(i)))
	}
	return s.Types(cs...)
}

// rawTag renders a struct tag as written: `json:"x"`.
func rawTag(tag string) jen.Code {
	if strings.Contains(tag, "`") {
		return jen.Lit(tag)
	}
	return jen.Op("`" + tag + "`")
}

// typePackages returns the import paths (other than local) that rendering
// t in a file of package local refers to, sorted.
func typePackages(t types.Type, local string) []string {
	set := map[string]bool{}
	r := &typeRenderer{local: local, use: func(p *types.Package) { set[p.Path()] = true }}
	r.code(t)
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
