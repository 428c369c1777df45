package generator

import (
	"go/token"
	"go/types"
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

// analyze checks the program and returns its model, or diagnostics. Its
// phases run in order, each in a file of its own:
//
//   - scanning (scan.go): every comment group of every file, for
//     directives and their near misses;
//   - definitions (analyze_define.go): //signal:define declarations become
//     declared signals, their senders' packages targets;
//   - receivers (analyze_receiver.go): //signal:receiver directives become
//     receivers, checked against the functions they annotate;
//   - linking (analyze_link.go): each receiver is attached to its signal,
//     declared or implicit;
//   - model building (analyze_build.go);
//   - whole-program checks (analyze_checks.go): name collisions, imports,
//     cycles.
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
