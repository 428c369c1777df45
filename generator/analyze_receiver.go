package generator

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Receivers: //signal:receiver directives become receivers, their
// parameters checked against the function or method they annotate.

// receiver checks a //signal:receiver and returns its receiver, or nil.
func (a *analyzer) receiver(pkg *packages.Package, f found) *receiver {
	fd := f.fn
	fn, _ := pkg.TypesInfo.Defs[fd.Name].(*types.Func)
	r := &receiver{pkg: pkg.Types, fn: fn, pos: f.pos, signalPos: f.signalPos, signalName: f.signal, queue: f.queue, attempts: f.attempts, timeout: f.timeout, priority: f.priority,
		limit: limit{concurrency: f.concurrency, rate: f.rate, per: f.ratePer, burst: f.burst}}
	name := fd.Name.Name
	from := fd.Name.Pos()
	if fd.Recv != nil {
		from = fd.Recv.Pos()
		if rt := recvTypeName(fd); rt != "" {
			name = rt + "." + name
		}
	}
	what := "receiver " + name
	if a.declErrors(pkg, what, from, fd.Type.End()) || fn == nil {
		return nil
	}
	if fd.Type.TypeParams != nil {
		a.errorf(fd.Name.Pos(), "%s is generic; the dispatch table cannot choose its type arguments: remove the type parameters", what)
		return nil
	}
	sig := fn.Signature()
	if recv := sig.Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t, r.ptrRecv = p.Elem(), true
		}
		named, ok := types.Unalias(t).(*types.Named)
		if !ok {
			return nil // not a valid method; the type checker said so
		}
		if named.TypeParams().Len() > 0 {
			a.errorf(fd.Name.Pos(), "%s is a method of generic type %s; the dispatch table cannot choose its type arguments", what, named.Obj().Name())
			return nil
		}
		r.recvType = named.Obj()
	}
	qual := qualifier(pkg.Types)
	bad := false
	params := sig.Params()
	if params.Len() == 0 || !isContext(params.At(0).Type()) {
		found := "no parameters"
		if params.Len() > 0 {
			found = "first parameter " + paramDesc(params.At(0), qual)
		}
		a.errorf(fd.Type.Params.Pos(), "%s has %s; a receiver takes a context.Context first: func %s(ctx context.Context, ...) error", what, found, fd.Name.Name)
		bad = true
	}
	if res := sig.Results(); res.Len() != 1 || !types.Identical(res.At(0).Type(), errorType) {
		found := "returns nothing"
		switch res.Len() {
		case 0:
		case 1:
			found = "returns " + types.TypeString(res.At(0).Type(), qual)
		default:
			found = "returns " + types.TypeString(res, qual)
		}
		pos := fd.Type.Params.End()
		if fd.Type.Results != nil {
			pos = fd.Type.Results.Pos()
		}
		a.errorf(pos, "%s %s; a receiver returns exactly error", what, found)
		bad = true
	}
	for i := 0; i < params.Len(); i++ {
		p := params.At(i)
		if i == 0 && isContext(p.Type()) {
			continue
		}
		switch {
		case sig.Variadic() && i == params.Len()-1:
			elem := types.TypeString(p.Type().(*types.Slice).Elem(), qual)
			a.errorf(p.Pos(), "%s: parameter %s is variadic (...%s); take a slice instead: %s []%s", what, p.Name(), elem, p.Name(), elem)
			bad = true
		case p.Name() == "" || p.Name() == "_":
			a.errorf(p.Pos(), "%s: parameter %d has no name; receivers get the signal's arguments by name", what, i+1)
			bad = true
		case hasInvalid(p.Type()):
			a.errorf(p.Pos(), "%s: parameter %s has an invalid type; fix the type errors in package %s first", what, p.Name(), pkg.PkgPath)
			bad = true
		case i > 0:
			r.params = append(r.params, param{name: p.Name(), typ: p.Type(), pos: p.Pos()})
		}
	}
	// The dispatch package must be able to call the receiver.
	disp := a.prog.dispatch
	switch {
	case !inMainModule(pkg):
		a.errorf(f.pos, "%s is in package %s, outside the main module; signalgen writes code only into the main module", what, pkg.PkgPath)
		bad = true
	case pkg.Name == "main":
		a.errorf(f.pos, "%s is in package main, which the dispatch package cannot import; move it to another package", what)
		bad = true
	case pkg.PkgPath == disp.path:
	case r.recvType != nil && !r.recvType.Exported():
		a.errorf(f.pos, "%s is a method of unexported type %s, so the dispatch package %s cannot call it; export the type", what, r.recvType.Name(), disp.path)
		bad = true
	case !fn.Exported():
		a.errorf(f.pos, "%s is unexported, so the dispatch package %s cannot call it; export it", what, disp.path)
		bad = true
	case disp.err == "" && !canImport(disp.path, pkg.PkgPath):
		a.errorf(f.pos, "%s is in internal package %s, which the dispatch package %s cannot import; choose a dispatch directory that may import it with -dispatch", what, pkg.PkgPath, disp.path)
		bad = true
	}
	if bad {
		return nil
	}
	r.key = f.key
	if r.key == "" {
		r.key = r.defaultKey()
	}
	return r
}

// unexportableReason says why an argument's name gives no exported field.
func unexportableReason(ar *arg) string {
	if f := ar.field(); f != "" && token.IsIdentifier(f) {
		return fmt.Sprintf("its field name %s is unexported (%c has no upper case), and encoding/json skips unexported fields; rename it to start with a letter that has an upper case", f, []rune(f)[0])
	}
	return fmt.Sprintf("its words give no Go identifier (%q); rename it to start with a letter", ar.field())
}

// paramDesc describes a parameter for messages: "orderID int64".
func paramDesc(p *types.Var, qual types.Qualifier) string {
	if p.Name() == "" {
		return types.TypeString(p.Type(), qual)
	}
	return p.Name() + " " + types.TypeString(p.Type(), qual)
}

// recvTypeName returns the type name of a method's receiver, from syntax.
func recvTypeName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// canImport reports whether package from may import package path under
// the internal-package rule.
func canImport(from, path string) bool {
	i := strings.LastIndex(path, "/internal/")
	switch {
	case i >= 0:
		return from == path[:i] || strings.HasPrefix(from, path[:i]+"/")
	case strings.HasSuffix(path, "/internal"):
		parent := strings.TrimSuffix(path, "/internal")
		return from == parent || strings.HasPrefix(from, parent+"/")
	case strings.HasPrefix(path, "internal/") || path == "internal":
		return false
	}
	return true
}
