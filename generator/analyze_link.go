package generator

import "go/types"

// Linking: each receiver is attached to its signal, declared or implicit,
// and its parameters checked against the signal's arguments.

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
