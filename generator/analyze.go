package generator

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// analyzer checks the directives of a loaded program with the type
// checker and builds the model.
type analyzer struct {
	prog  *program
	diags []diag
	ext   []Diagnostic // problems reported by go/packages, positioned by string

	signals map[string]*signal
	targets map[string]*target
	keys    map[string]*receiver
}

func (a *analyzer) errorf(pos token.Pos, format string, args ...any) {
	a.diags = append(a.diags, diagf(pos, format, args...))
}

// analyze checks the program and returns its model, or diagnostics.
func analyze(prog *program) (*model, []diag, []Diagnostic) {
	a := &analyzer{prog: prog, signals: map[string]*signal{}, targets: map[string]*target{}, keys: map[string]*receiver{}}

	type pkgFound struct {
		pkg              *packages.Package
		receivers, defns []found
	}
	var all []pkgFound
	for _, pkg := range prog.pkgs {
		pf := pkgFound{pkg: pkg}
		for _, f := range pkg.Syntax {
			if prog.old[prog.fset.File(f.Pos()).Name()] {
				continue
			}
			rs, ds, diags := scanFile(f)
			pf.receivers = append(pf.receivers, rs...)
			pf.defns = append(pf.defns, ds...)
			a.diags = append(a.diags, diags...)
		}
		a.packageErrors(pkg)
		all = append(all, pf)
	}
	for _, pf := range all {
		for _, f := range pf.defns {
			a.define(pf.pkg, f)
		}
	}
	var receivers []*receiver
	for _, pf := range all {
		for _, f := range pf.receivers {
			if r := a.receiver(pf.pkg, f); r != nil && !f.broken {
				receivers = append(receivers, r)
			}
		}
	}
	for _, r := range receivers {
		a.link(r)
	}
	// The remaining checks run on what passed so far, so that every
	// problem is reported at once.
	m := a.build()
	a.checkNames(m)
	a.checkImports(m)
	a.checkCycles(m)
	if len(a.diags) > 0 || len(a.ext) > 0 {
		return nil, a.diags, a.ext
	}
	return m, nil, nil
}

// packageErrors reports the errors go/packages found in pkg that make its
// directives unreliable: files that do not parse (they may hide
// directives) and packages that could not be loaded at all. Other errors
// (type errors, failed imports, the go command's failure to compile the
// package) are tolerated, unless they are in a directive's declaration:
// see declErrors and hasInvalid.
func (a *analyzer) packageErrors(pkg *packages.Package) {
	loaded := pkg.Types != nil && len(pkg.Syntax) > 0
	for _, e := range pkg.Errors {
		if e.Kind == packages.ParseError || !loaded && e.Kind != packages.TypeError {
			a.ext = append(a.ext, Diagnostic{Pos: parsePos(e.Pos), Message: e.Msg})
		}
	}
}

// parsePos parses "file:line:col" or "file:line".
func parsePos(s string) token.Position {
	var p token.Position
	if s == "" || s == "-" {
		return p
	}
	parts := strings.Split(s, ":")
	nums := []int{}
	for len(parts) > 1 && len(nums) < 2 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		parts = parts[:len(parts)-1]
	}
	p.Filename = strings.Join(parts, ":")
	if len(nums) > 0 {
		p.Line = nums[0]
	}
	p.Column = 1
	if len(nums) > 1 {
		p.Column = nums[1]
	}
	return p
}

// declErrors reports the type errors of pkg inside [from, to), the
// declaration a directive annotates, and reports whether there were any.
func (a *analyzer) declErrors(pkg *packages.Package, what string, from, to token.Pos) bool {
	bad := false
	for _, e := range pkg.TypeErrors {
		if e.Pos >= from && e.Pos < to {
			a.errorf(e.Pos, "%s does not type-check: %s", what, e.Msg)
			bad = true
		}
	}
	return bad
}

// qualifier names other packages by their name, and pkg not at all.
func qualifier(pkg *types.Package) types.Qualifier {
	return func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Name()
	}
}

// hasInvalid reports whether t contains an invalid type.
func hasInvalid(t types.Type) bool {
	found := false
	seen := map[types.Type]bool{}
	var walk func(types.Type)
	walk = func(t types.Type) {
		if found || seen[t] {
			return
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Basic:
			found = t.Kind() == types.Invalid
		case *types.Alias:
			walk(types.Unalias(t))
		case *types.Named:
			for i := 0; i < t.TypeArgs().Len(); i++ {
				walk(t.TypeArgs().At(i))
			}
		case *types.Pointer:
			walk(t.Elem())
		case *types.Slice:
			walk(t.Elem())
		case *types.Array:
			walk(t.Elem())
		case *types.Map:
			walk(t.Key())
			walk(t.Elem())
		case *types.Chan:
			walk(t.Elem())
		case *types.Struct:
			for i := 0; i < t.NumFields(); i++ {
				walk(t.Field(i).Type())
			}
		case *types.Signature:
			for i := 0; i < t.Params().Len(); i++ {
				walk(t.Params().At(i).Type())
			}
			for i := 0; i < t.Results().Len(); i++ {
				walk(t.Results().At(i).Type())
			}
		}
	}
	walk(t)
	return found
}

func isContext(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}

// inMainModule reports whether pkg belongs to a main module, where
// signalgen may write.
func inMainModule(pkg *packages.Package) bool {
	return pkg.Module != nil && pkg.Module.Main
}

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

// link attaches a receiver to its signal, declared or implicit, and checks
// its parameters against the signal's arguments.
func (a *analyzer) link(r *receiver) {
	if prev := a.keys[r.key]; prev != nil {
		if prev.fn == r.fn {
			a.errorf(r.pos, "receiver key %s is used twice: %s receives %s here and %s (%s); give each directive its own name= option", r.key, r.displayName(), r.signalName, prev.signalName, a.prog.where(prev.pos))
		} else {
			a.errorf(r.pos, "receiver key %s is used twice: by %s here and by %s (%s); give one of them a distinct name= option", r.key, r.displayName(), prev.displayName(), a.prog.where(prev.pos))
		}
		return
	}
	a.keys[r.key] = r
	qual := qualifier(r.pkg)
	what := "receiver " + r.displayName()
	s := a.signals[r.signalName]
	if s != nil && s.declared {
		if s.broken {
			return // the declaration was reported
		}
		ok := true
		declQual := qualifier(s.target.pkg)
		for _, p := range r.params {
			ar := s.arg(p.name)
			switch {
			case ar == nil:
				a.errorf(p.pos, "%s: parameter %s is not an argument of signal %s, which declares %s (%s)", what, p.name, s.name, joinNames(s.argNames()), a.prog.where(s.argPos))
				ok = false
			case !types.Identical(p.typ, ar.typ):
				a.errorf(p.pos, "%s: parameter %s has type %s, but signal %s declares %s as %s (%s)", what, p.name, types.TypeString(p.typ, qual), s.name, ar.name, types.TypeString(ar.typ, declQual), a.prog.where(ar.pos))
				ok = false
			}
		}
		if ok {
			s.receivers = append(s.receivers, r)
			r.signal = s
		}
		return
	}
	if s == nil {
		if d := a.nearDeclared(r.signalName); d != nil {
			a.errorf(r.signalPos, "%s: signal %s is not declared; did you mean %s (%s)? A signal that no //signal:define declares is implicit only when its name is not a near miss of a declared one; fix the name, or declare %s with //signal:define",
				what, r.signalName, d.name, a.prog.where(d.argPos), r.signalName)
			return
		}
		pl := a.prog.signals
		if pl.err != "" {
			a.errorf(r.pos, "signal %s is not declared with //signal:define, so its sender goes into the generated signals package, but %s", r.signalName, pl.err)
			return
		}
		var tpkg *types.Package
		if p := a.prog.byPath[pl.path]; p != nil {
			tpkg = p.Types
		}
		s = &signal{name: r.signalName, goName: exportedName(r.signalName), pos: r.pos}
		s.target = a.target(pl.path, pl.name, pl.dir, tpkg)
		a.signals[r.signalName] = s
	}
	ok := true
	for _, p := range r.params {
		if ar := s.arg(p.name); ar != nil {
			if !types.Identical(p.typ, ar.typ) {
				a.errorf(p.pos, "signal %s: %s takes %s as %s, but receiver %s takes it as %s (%s); the receivers of an implicit signal must agree on each argument's type, or the signal must be declared with //signal:define",
					s.name, what, p.name, types.TypeString(p.typ, qual), ar.from.displayName(), types.TypeString(ar.typ, qualifier(ar.pkg)), a.prog.where(ar.pos))
				ok = false
			}
			continue
		}
		if prob := jsonProblem(p.typ, s.target.path, qual); prob != "" {
			a.errorf(p.pos, "%s: parameter %s has type %s, which cannot round-trip through encoding/json: %s", what, p.name, types.TypeString(p.typ, qual), prob)
			ok = false
			continue
		}
		ar := &arg{name: p.name, typ: p.typ, pkg: r.pkg, pos: p.pos, from: r}
		if !ar.exportable() {
			a.errorf(p.pos, "%s: parameter %s cannot become a payload field: %s", what, ar.name, unexportableReason(ar))
			ok = false
			continue
		}
		for _, other := range s.args {
			if other.field() == ar.field() || other.jsonName() == ar.jsonName() {
				a.errorf(p.pos, "signal %s: arguments %s and %s both become payload field %s; rename one", s.name, other.name, ar.name, ar.field())
				ok = false
			}
		}
		s.args = append(s.args, ar)
	}
	if ok {
		s.receivers = append(s.receivers, r)
		r.signal = s
	}
}

// nearDeclared returns the declared signal whose name name is a near miss
// of (see nearMiss), the closest one and of those the first by name; or
// nil. Implicit signals are not compared: names that receivers alone use
// may differ as little as they like.
func (a *analyzer) nearDeclared(name string) *signal {
	var best *signal
	bestDist := 0
	for _, other := range sortedKeys(a.signals) {
		s := a.signals[other]
		if !s.declared {
			continue
		}
		if d, ok := nearMiss(name, other); ok && (best == nil || d < bestDist) {
			best, bestDist = s, d
		}
	}
	return best
}

// build assembles the model from the checked signals.
func (a *analyzer) build() *model {
	m := &model{}
	for _, s := range a.signals {
		if !s.declared {
			sort.Slice(s.args, func(i, j int) bool { return s.args[i].name < s.args[j].name })
		}
		sortReceivers(s.receivers)
		m.signals = append(m.signals, s)
	}
	sort.Slice(m.signals, func(i, j int) bool { return m.signals[i].name < m.signals[j].name })
	for _, s := range m.signals {
		s.target.signals = append(s.target.signals, s)
	}
	for _, t := range a.targets {
		m.targets = append(m.targets, t)
	}
	sort.Slice(m.targets, func(i, j int) bool { return m.targets[i].path < m.targets[j].path })
	if len(m.signals) == 0 {
		return m
	}
	pl := a.prog.dispatch
	if pl.err != "" {
		a.errorf(m.signals[0].pos, "the dispatch package cannot be generated: %s", pl.err)
		return m
	}
	d := &dispatchPkg{path: pl.path, name: pl.name, dir: pl.dir}
	if p := a.prog.byPath[pl.path]; p != nil && p.Types != nil {
		d.scope = p.Types.Scope()
	}
	byType := map[*types.TypeName]*binding{}
	for _, s := range m.signals {
		for _, r := range s.receivers {
			d.receivers = append(d.receivers, r)
			if r.recvType == nil {
				continue
			}
			b := byType[r.recvType]
			if b == nil {
				b = &binding{typ: r.recvType, pointer: hasPointerMethod(r.recvType)}
				byType[r.recvType] = b
				d.bindings = append(d.bindings, b)
			}
			b.methods = append(b.methods, r)
			r.binding = b
		}
	}
	sortReceivers(d.receivers)
	sort.Slice(d.bindings, func(i, j int) bool {
		x, y := d.bindings[i].typ, d.bindings[j].typ
		if x.Pkg().Path() != y.Pkg().Path() {
			return x.Pkg().Path() < y.Pkg().Path()
		}
		return x.Name() < y.Name()
	})
	for _, b := range d.bindings {
		sortReceivers(b.methods)
	}
	m.dispatch = d
	return m
}

// hasPointerMethod reports whether any method declared on tn has a
// pointer receiver.
func hasPointerMethod(tn *types.TypeName) bool {
	named, ok := tn.Type().(*types.Named)
	if !ok {
		return false
	}
	for i := 0; i < named.NumMethods(); i++ {
		if _, ptr := named.Method(i).Signature().Recv().Type().(*types.Pointer); ptr {
			return true
		}
	}
	return false
}

// checkNames reports generated names that collide with each other or with
// declarations in the target packages.
func (a *analyzer) checkNames(m *model) {
	type generated struct {
		kind string
		s    *signal
	}
	for _, t := range m.targets {
		byGo := map[string]*signal{}
		names := map[string]generated{}
		for _, s := range t.signals {
			if prev := byGo[s.goName]; prev != nil {
				a.errorf(s.pos, "signals %s and %s both have the Go name %s in package %s (%s); rename one", prev.name, s.name, s.goName, t.path, a.prog.where(prev.pos))
				continue
			}
			byGo[s.goName] = s
			for _, ar := range s.args {
				if ar.field() == signalNameMethod {
					a.errorf(ar.pos, "signal %s: argument %s becomes payload field %s, which collides with the generated method %s of %s (it returns the signal's name); rename the argument",
						s.name, ar.name, ar.field(), signalNameMethod, s.payloadName())
				}
			}
			gens := []struct{ kind, name string }{
				{"payload type", s.payloadName()},
				{"sender", s.senderName()},
				{"routes variable", s.routesName()},
			}
			for _, gen := range gens {
				if prev, ok := names[gen.name]; ok {
					a.errorf(s.pos, "signal %s: the generated %s %s collides with the %s of signal %s (%s); rename one of the signals", s.name, gen.kind, gen.name, prev.kind, prev.s.name, a.prog.where(prev.s.pos))
					continue
				}
				names[gen.name] = generated{gen.kind, s}
			}
			if t.scope == nil {
				continue
			}
			for _, gen := range gens {
				if obj := t.scope.Lookup(gen.name); obj != nil {
					a.errorf(s.pos, "signal %s: the generated %s %s collides with %s declared at %s; rename that declaration, or give the signal another name", s.name, gen.kind, gen.name, objDesc(obj), a.prog.where(obj.Pos()))
				}
			}
		}
		if t.scope != nil && len(t.signals) > 0 {
			if obj := t.scope.Lookup(runtimeAlias); obj != nil {
				a.errorf(obj.Pos(), "%s collides with the name under which the generated %s imports the runtime package; rename it", objDesc(obj), SignalsFile)
			}
		}
	}
	if d := m.dispatch; d != nil && d.scope != nil {
		if obj := d.scope.Lookup("Table"); obj != nil {
			a.errorf(obj.Pos(), "%s collides with the generated dispatch table function Table; rename it", objDesc(obj))
		}
		if obj := d.scope.Lookup(runtimeAlias); obj != nil {
			a.errorf(obj.Pos(), "%s collides with the name under which the generated %s imports the runtime package; rename it", objDesc(obj), DispatchFile)
		}
	}
}

// objDesc describes a declared object: "func SendFoo".
func objDesc(obj types.Object) string {
	switch obj.(type) {
	case *types.Func:
		return "func " + obj.Name()
	case *types.TypeName:
		return "type " + obj.Name()
	case *types.Const:
		return "const " + obj.Name()
	}
	return "var " + obj.Name()
}

// checkImports reports imports that the generated code would need but Go
// does not allow: a package under another's internal directory, or a
// package main.
func (a *analyzer) checkImports(m *model) {
	for _, t := range m.targets {
		for _, s := range t.signals {
			for _, ar := range s.args {
				for _, imp := range typePackages(ar.typ, t.path) {
					if canImport(t.path, imp) {
						continue
					}
					how := "choose a signals directory that may import it with -signals, or declare the signal with //signal:define in a package that may"
					if s.declared {
						how = "move the type, or the declaration"
					}
					a.errorf(ar.pos, "signal %s: the generated package %s cannot import internal package %s for argument %s (type %s); %s",
						s.name, t.path, imp, ar.name, types.TypeString(ar.typ, qualifier(ar.pkg)), how)
				}
			}
		}
	}
	d := m.dispatch
	if d == nil {
		return
	}
	// The dispatch package decodes each payload, so it imports the package
	// of every signal that has receivers.
	for _, s := range m.signals {
		t := s.target
		if len(s.receivers) == 0 || t.path == d.path {
			continue
		}
		switch {
		case t.name == "main":
			a.errorf(s.pos, "signal %s is declared in package main, which the dispatch package %s cannot import to decode its payload; declare it in another package", s.name, d.path)
		case !canImport(d.path, t.path):
			a.errorf(s.pos, "signal %s is declared in internal package %s, which the dispatch package %s cannot import to decode its payload; declare it elsewhere, or choose a dispatch directory that may import it with -dispatch", s.name, t.path, d.path)
		}
	}
}

// checkCycles reports imports the generated code would add that close an
// import cycle.
func (a *analyzer) checkCycles(m *model) {
	for _, t := range m.targets {
		for _, s := range t.signals {
			for _, ar := range s.args {
				for _, imp := range typePackages(ar.typ, t.path) {
					chain := a.importChain(imp, t.path)
					if chain == nil {
						continue
					}
					where := "the generated signals package " + t.path
					how := "declare the signal with //signal:define in the package that owns the event (one that " + lastElem(imp) + " does not import), so that its sender lives there"
					if s.declared {
						where = "package " + t.path
						how = "move the signal's declaration, or the type, so that neither package imports the other"
					}
					a.errorf(ar.pos, "signal %s: %s would import %s for argument %s (type %s), but %s imports %s (%s): an import cycle; %s",
						s.name, where, imp, ar.name, types.TypeString(ar.typ, qualifier(ar.pkg)), lastElem(imp), lastElem(t.path), strings.Join(chain, " -> "), how)
				}
			}
		}
	}
	d := m.dispatch
	if d == nil {
		return
	}
	reported := map[string]bool{}
	for _, r := range d.receivers {
		for _, imp := range []string{r.pkg.Path(), r.signal.target.path} {
			if imp == d.path || reported[imp] {
				continue
			}
			if chain := a.importChain(imp, d.path); chain != nil {
				reported[imp] = true
				a.errorf(r.pos, "receiver %s: the dispatch package %s imports %s, which imports the dispatch package (%s): an import cycle; only the worker's main package should import the dispatch package", r.displayName(), d.path, imp, strings.Join(chain, " -> "))
			}
		}
	}
}

// importChain returns the shortest import path from package from to
// package to through the loaded packages, or nil.
func (a *analyzer) importChain(from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range a.prog.imports(p) {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p
			if imp == to {
				var chain []string
				for q := to; q != ""; q = prev[q] {
					chain = append([]string{q}, chain...)
				}
				return chain
			}
			queue = append(queue, imp)
		}
	}
	return nil
}

// imports returns the packages that a loaded package imports, from its
// syntax; nil for a package that was not loaded.
func (prog *program) imports(path string) []string {
	p := prog.byPath[path]
	if p == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range p.Syntax {
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err == nil && !seen[imp] {
				seen[imp] = true
				out = append(out, imp)
			}
		}
	}
	sort.Strings(out)
	return out
}

func lastElem(path string) string { return path[strings.LastIndex(path, "/")+1:] }
