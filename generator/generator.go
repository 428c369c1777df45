package generator

import (
	"bytes"
	"context"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config says what to generate.
type Config struct {
	// Dir is the working directory: patterns, SignalsDir and DispatchDir
	// are relative to it, and so are the file names in diagnostics. Empty
	// means the current directory.
	Dir string
	// Patterns are the packages to load, as for go list; empty means the
	// whole module that Dir is in (./... from the directory of its go.mod).
	Patterns []string
	// SignalsDir is the directory of the generated package that holds the
	// senders of implicit signals. Empty means "signals" in the root of the
	// main module.
	SignalsDir string
	// DispatchDir is the directory of the generated dispatch package. Empty
	// means "signals/dispatch" in the root of the main module.
	DispatchDir string
	// Tags are build tags used when loading packages.
	Tags []string
	// Env is the environment of the go command; nil means os.Environ().
	Env []string
	// AcceptBreaking records a new contract even when it breaks tasks
	// already queued (see [ContractFile]); without it, breaking changes
	// are diagnostics and nothing is generated.
	AcceptBreaking bool
	// GraphInto, if set, is a Markdown file (relative to Dir) whose
	// generated region, between the lines that [Graph]'s markers make, gets
	// the Mermaid signal graph: it is then part of the output, written and
	// checked like the generated code.
	GraphInto string
	// Changes, if set, is called once with every change from the recorded
	// contract to the new one, sorted: compatible ones, and breaking ones
	// when AcceptBreaking lets them through.
	Changes func([]Change)
	// Warnings, if set, is called once with the warnings of a generation
	// that succeeded, sorted, when there are any: problems that do not stop
	// it, such as an implicit signal whose sender nothing in the loaded
	// packages calls. Their Warning field is set.
	Warnings func([]Diagnostic)
}

// Change is one difference between the recorded payload contract and the
// new one, at the changed declaration (or, for what is gone, at its line
// in the contract file).
type Change struct {
	Diagnostic
	// Breaking reports whether tasks already queued would fail (or lose
	// data) under the new contract.
	Breaking bool
}

// File is one file of the generated output: its desired content, or its
// removal.
type File struct {
	// Path is the absolute file name.
	Path string
	// Content is the complete file; nil when Remove is set.
	Content []byte
	// Remove is set for a file we generated earlier whose signals are gone.
	Remove bool
}

// Diagnostic is a problem in the input, at a position.
type Diagnostic struct {
	// Pos is where the problem is; its Filename is relative to Config.Dir
	// when the file is inside it. Pos is invalid for problems that belong
	// to no file.
	Pos token.Position
	// Message says what was found and what is required.
	Message string
	// Warning marks a problem that does not stop generation (see
	// Config.Warnings).
	Warning bool
}

// String formats d as file:line:col: message, or for a warning as
// file:line:col: warning: message.
func (d Diagnostic) String() string {
	msg := d.Message
	if d.Warning {
		msg = "warning: " + msg
	}
	if !d.Pos.IsValid() {
		return msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.Pos.Filename, d.Pos.Line, d.Pos.Column, msg)
}

// Generate loads the packages of cfg, finds their //signal: directives,
// checks them and returns the generated files. It writes nothing: see
// [Write] and [Diff].
//
// Problems in the input are returned as diagnostics, all of them, sorted
// and deduplicated; files are then nil. The error is for failures to run
// at all (the go command failed, ctx was cancelled).
func Generate(ctx context.Context, cfg Config) ([]File, []Diagnostic, error) {
	prog, diags, err := load(ctx, cfg)
	if err != nil || len(diags) > 0 {
		return nil, diags, err
	}
	m, ds, ext := analyze(prog)
	if len(ds) > 0 || len(ext) > 0 {
		return nil, prog.diagnostics(ds, ext), nil
	}
	m.setContracts()
	files, ds, err := emit(prog, m)
	if err != nil {
		return nil, nil, err
	}
	if len(ds) > 0 {
		return nil, prog.diagnostics(ds, nil), nil
	}
	lock, changes, diags := prog.checkContract(m, cfg.AcceptBreaking)
	if len(diags) > 0 {
		return nil, diags, nil
	}
	if lock != nil {
		files = append(files, *lock)
	}
	// The graph, which finds the senders' callers, is made once, and only
	// when needed.
	var g *signalGraph
	graph := func() *signalGraph {
		if g == nil {
			g = prog.graph(m)
		}
		return g
	}
	if cfg.GraphInto != "" {
		path := cfg.GraphInto
		if !filepath.IsAbs(path) {
			path = filepath.Join(prog.dir, path)
		}
		f, d := graphFile(path, graph())
		if d != nil {
			return nil, prog.diagnostics(nil, []Diagnostic{*d}), nil
		}
		files = append(files, *f)
	}
	// Never overwrite a file that is not ours.
	ext = nil
	for _, f := range files {
		if _, err := os.Stat(f.Path); err == nil && !prog.old[f.Path] && !isOurs(f.Path) && !hasGraphMarkers(f.Path) {
			ext = append(ext, Diagnostic{Pos: token.Position{Filename: f.Path, Line: 1, Column: 1},
				Message: fmt.Sprintf("%s was not generated by signalgen (its first line is not %q), so signalgen will not overwrite it; rename it", filepath.Base(f.Path), Header)})
		}
	}
	if len(ext) > 0 {
		return nil, prog.diagnostics(nil, ext), nil
	}
	// Remove our old files that nothing replaces.
	produced := map[string]bool{}
	for _, f := range files {
		produced[f.Path] = true
	}
	var old []string
	for path := range prog.old {
		if !produced[path] {
			old = append(old, path)
		}
	}
	sort.Strings(old)
	for _, path := range old {
		files = append(files, File{Path: path, Remove: true})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	if cfg.Changes != nil && len(changes) > 0 {
		cfg.Changes(changes)
	}
	if cfg.Warnings != nil {
		if ws := prog.unsent(m, graph); len(ws) > 0 {
			cfg.Warnings(ws)
		}
	}
	return files, nil, nil
}

// unsent warns of the implicit signals whose sender no loaded package
// calls, at the directive of the signal's first receiver: a receiver that
// names a signal nothing sends is most often a misspelled name, or a
// signal whose sending package is still to be written, which should
// then declare it. graph is called only when there are implicit signals.
func (prog *program) unsent(m *model, graph func() *signalGraph) []Diagnostic {
	var ds []diag
	for _, s := range m.signals {
		if s.declared || len(s.receivers) == 0 || graph().sent(s) {
			continue
		}
		ds = append(ds, diagf(s.pos, "signal %s is implicit and nothing sends it (%s.%s is never called); declare it with //signal:define in the package that sends it, or check the name",
			s.name, s.target.name, s.senderName()))
	}
	out := prog.diagnostics(ds, nil)
	for i := range out {
		out[i].Warning = true
	}
	return out
}

// checkContract compares the contract of m with the recorded one, and
// returns the contract file to write and the changes; breaking changes are
// diagnostics unless accept is set.
func (prog *program) checkContract(m *model, accept bool) (*File, []Change, []Diagnostic) {
	if prog.dispatch.dir == "" {
		return nil, nil, nil
	}
	path := filepath.Join(prog.dispatch.dir, ContractFile)
	newC := contractOf(m)
	lock := &File{Path: path, Content: newC.text()}
	if len(newC.signals) == 0 {
		// Nothing to record: a contract file of ours goes, like the code.
		lock = &File{Path: path, Remove: true}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// No recorded contract yet (or unreadable: writing reports it).
		if lock.Remove {
			return nil, nil, nil
		}
		return lock, nil, nil
	}
	if !bytes.HasPrefix(data, []byte(contractHeader+"\n")) {
		return nil, nil, prog.diagnostics(nil, []Diagnostic{{Pos: token.Position{Filename: path, Line: 1, Column: 1},
			Message: fmt.Sprintf("%s was not generated by signalgen (its first line is not %q), so signalgen will not overwrite it; rename it", ContractFile, contractHeader)}})
	}
	oldC, err := parseContract(data)
	if err != nil {
		return nil, nil, prog.diagnostics(nil, []Diagnostic{{Pos: token.Position{Filename: path, Line: 1, Column: 1},
			Message: fmt.Sprintf("reading the recorded contract: %v", err)}})
	}
	var bds []diag
	var bext []Diagnostic
	var changes []Change
	for _, c := range compareContracts(oldC, newC) {
		d := Diagnostic{Pos: token.Position{Filename: path, Line: c.line, Column: 1}, Message: c.msg}
		if c.line == 0 {
			d.Pos = prog.position(c.pos)
		}
		if c.breaking && !accept {
			if c.line > 0 {
				bext = append(bext, d)
			} else {
				bds = append(bds, diag{pos: c.pos, msg: c.msg})
			}
			continue
		}
		if d.Pos.Filename != "" {
			d.Pos.Filename = prog.rel(d.Pos.Filename)
		}
		d.Message = strings.TrimSuffix(d.Message, acceptHint)
		changes = append(changes, Change{Diagnostic: d, Breaking: c.breaking})
	}
	if len(bds)+len(bext) > 0 {
		return nil, nil, prog.diagnostics(bds, bext)
	}
	sort.SliceStable(changes, func(i, j int) bool { return lessDiag(changes[i].Diagnostic, changes[j].Diagnostic) })
	return lock, changes, nil
}

// diagnostics converts, sorts and deduplicates diagnostics.
func (prog *program) diagnostics(ds []diag, ext []Diagnostic) []Diagnostic {
	out := append([]Diagnostic(nil), ext...)
	for _, d := range ds {
		out = append(out, Diagnostic{Pos: prog.position(d.pos), Message: d.msg})
	}
	for i := range out {
		if out[i].Pos.Filename != "" {
			out[i].Pos.Filename = prog.rel(out[i].Pos.Filename)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return lessDiag(out[i], out[j]) })
	uniq := out[:0]
	for i, d := range out {
		if i > 0 && d == out[i-1] {
			continue
		}
		uniq = append(uniq, d)
	}
	return uniq
}

// lessDiag orders diagnostics by file, line, column and message.
func lessDiag(x, y Diagnostic) bool {
	a, b := x.Pos, y.Pos
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	if a.Column != b.Column {
		return a.Column < b.Column
	}
	return x.Message < y.Message
}

// position returns the position of pos, without the byte offset.
func (prog *program) position(pos token.Pos) token.Position {
	p := prog.fset.Position(pos)
	p.Offset = 0
	return p
}

// where formats pos as file:line:col relative to the working directory, for
// messages that point at a second place.
func (prog *program) where(pos token.Pos) string {
	p := prog.position(pos)
	return fmt.Sprintf("%s:%d:%d", filepath.ToSlash(prog.rel(p.Filename)), p.Line, p.Column)
}

// joinNames lists names as "a, b and c".
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
