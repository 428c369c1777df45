package generator

import (
	"go/types"
	"sort"
	"strconv"
	"strings"
)

// Whole-program checks: generated names that would collide, imports that
// the generated packages cannot make, and import cycles they would close.

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
