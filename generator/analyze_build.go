package generator

import (
	"go/types"
	"sort"
)

// Model building: the checked signals and receivers become the model that
// the emitters render.

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
