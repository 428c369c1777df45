package generator

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"

	"golang.org/x/tools/go/packages"
)

// Definitions: //signal:define declarations become declared signals, and
// the packages their senders go to become targets.

// define checks a //signal:define and records its signal.
func (a *analyzer) define(pkg *packages.Package, f found) {
	spec := f.spec
	obj, _ := pkg.TypesInfo.Defs[spec.Name].(*types.TypeName)
	what := "signal declaration " + spec.Name.Name
	if a.declErrors(pkg, what, spec.Pos(), spec.End()) || obj == nil {
		return
	}
	if spec.TypeParams != nil {
		a.errorf(spec.Name.Pos(), "%s is generic; a signal's arguments have fixed types: remove the type parameters", what)
		return
	}
	sig, ok := obj.Type().Underlying().(*types.Signature)
	if !ok {
		a.errorf(f.pos, "//signal:define is on %s; it belongs on a function type: type %s func(orderID int64, ...)", genDesc(&ast.GenDecl{Tok: token.TYPE}, spec), spec.Name.Name)
		return
	}
	if !inMainModule(pkg) {
		a.errorf(f.pos, "%s is in package %s, outside the main module; signalgen writes code only into the main module", what, pkg.PkgPath)
		return
	}
	qual := qualifier(pkg.Types)
	bad := false
	if res := sig.Results(); res.Len() > 0 {
		found := types.TypeString(res, qual)
		if res.Len() == 1 {
			found = types.TypeString(res.At(0).Type(), qual)
		}
		a.errorf(spec.Type.Pos(), "%s returns %s; a signal declaration has no results: type %s func(orderID int64, ...)", what, found, spec.Name.Name)
		bad = true
	}
	s := &signal{declared: true, typeName: spec.Name.Name, pos: f.pos, argPos: spec.Name.Pos()}
	seenField := map[string]*arg{}
	for i := 0; i < sig.Params().Len(); i++ {
		p := sig.Params().At(i)
		switch {
		case p.Name() == "" || p.Name() == "_":
			a.errorf(p.Pos(), "%s: argument %d has no name; a signal declaration names every argument: type %s func(orderID int64, ...)", what, i+1, spec.Name.Name)
			bad = true
			continue
		case sig.Variadic() && i == sig.Params().Len()-1:
			a.errorf(p.Pos(), "%s: argument %s is variadic (...%s); use a slice: %s %s", what, p.Name(), types.TypeString(p.Type().(*types.Slice).Elem(), qual), p.Name(), types.TypeString(p.Type(), qual))
			bad = true
			continue
		case isContext(p.Type()):
			a.errorf(p.Pos(), "%s: argument %s is a context.Context; a declaration lists only the payload (the sender and each receiver get their own context)", what, p.Name())
			bad = true
			continue
		case hasInvalid(p.Type()):
			a.errorf(p.Pos(), "%s: argument %s has an invalid type; fix the type errors in package %s first", what, p.Name(), pkg.PkgPath)
			bad = true
			continue
		}
		if prob := jsonProblem(p.Type(), pkg.PkgPath, qual); prob != "" {
			a.errorf(p.Pos(), "%s: argument %s has type %s, which cannot round-trip through encoding/json: %s", what, p.Name(), types.TypeString(p.Type(), qual), prob)
			bad = true
			continue
		}
		ar := &arg{name: p.Name(), typ: p.Type(), pkg: pkg.Types, pos: p.Pos()}
		if !ar.exportable() {
			a.errorf(p.Pos(), "%s: argument %s cannot become a payload field: %s", what, ar.name, unexportableReason(ar))
			bad = true
			continue
		}
		if prev := seenField[ar.field()]; prev != nil {
			a.errorf(p.Pos(), "%s: arguments %s and %s both become payload field %s; rename one", what, prev.name, ar.name, ar.field())
			bad = true
			continue
		}
		seenField[ar.field()] = ar
		s.args = append(s.args, ar)
	}
	name := f.signal
	if name == "" {
		name = snakeName(spec.Name.Name)
		if !validSignalName(name) {
			a.errorf(f.pos, "signal name %q, derived from type %s, is malformed: a signal name starts with a lower-case letter; name the signal: //signal:define NAME", name, spec.Name.Name)
			return
		}
	}
	s.name, s.goName = name, exportedName(name)
	if prev := a.signals[name]; prev != nil {
		a.errorf(f.pos, "signal %s is defined twice: by type %s here and by type %s (%s); give one of them another name", name, spec.Name.Name, prev.typeName, a.prog.where(prev.pos))
		return
	}
	// A broken declaration is recorded anyway, so that its receivers are
	// not taken for an implicit signal's.
	s.broken = bad
	s.target = a.target(pkg.PkgPath, pkg.Name, pkgDir(pkg), pkg.Types)
	a.signals[name] = s
}

// pkgDir returns the directory of pkg's files.
func pkgDir(pkg *packages.Package) string {
	if len(pkg.GoFiles) > 0 {
		return filepath.Dir(pkg.GoFiles[0])
	}
	return ""
}

// target returns the target for package path, creating it. pkg is nil
// when the package does not exist yet.
func (a *analyzer) target(path, name, dir string, pkg *types.Package) *target {
	t := a.targets[path]
	if t == nil {
		t = &target{path: path, name: name, dir: dir, pkg: pkg}
		if pkg != nil {
			t.scope = pkg.Scope()
		}
		a.targets[path] = t
	}
	return t
}
