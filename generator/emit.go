package generator

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dave/jennifer/jen"
)

// The runtime package, as generated code imports it.
const (
	runtimePath  = "github.com/reliablesignals/signals/runtime"
	runtimeAlias = "signalrt"
)

// emit renders the model into files, in parallel: rendering (jennifer
// and go/format) is most of the work that signalgen does itself. The
// files come out in a fixed order, whatever order they were rendered in.
func emit(prog *program, m *model) ([]File, []diag, error) {
	type job struct {
		path, name, file string
		scope            *types.Scope
		build            func(*gen)
	}
	var jobs []job
	// The dispatch file is the largest: it starts first.
	if d := m.dispatch; d != nil {
		jobs = append(jobs, job{d.path, d.name, filepath.Join(d.dir, DispatchFile), d.scope, func(g *gen) { g.dispatchFile(prog, d) }})
	}
	for _, t := range m.targets {
		if len(t.signals) > 0 {
			jobs = append(jobs, job{t.path, t.name, filepath.Join(t.dir, SignalsFile), t.scope, func(g *gen) { g.signalsFile(prog, t) }})
		}
	}
	files := make([]File, len(jobs))
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := range next {
				j := jobs[i]
				content, err := renderFile(j.path, j.name, j.scope, j.build)
				if err != nil {
					errs[i] = fmt.Errorf("rendering %s: %w", j.path, err)
					continue
				}
				files[i] = File{Path: j.file, Content: content}
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return files, nil, nil
}

// gen builds one file. It runs twice: a first pass only collects the
// packages the file refers to, so that import names (and the dispatch
// table's parameter names) can be chosen free of collisions; the second
// pass builds the code that is rendered.
type gen struct {
	f *jen.File
	r *typeRenderer
	// collecting is set during the first pass.
	collecting bool
	// pkgNames holds the package name of each referenced import path.
	pkgNames map[string]string
	// taken holds the names in use at file scope: the package's own
	// declarations, the predeclared identifiers, the import names.
	taken map[string]bool
	// imports holds the name under which the file imports each path;
	// empty during the first pass.
	imports map[string]string
}

// ref renders a reference to name in the package at path.
func (g *gen) ref(path, pkgName, name string) *jen.Statement {
	return g.r.qual(types.NewPackage(path, pkgName), name)
}

func (g *gen) rt(name string) *jen.Statement { return g.ref(runtimePath, "runtime", name) }
func (g *gen) ctxType() *jen.Statement       { return g.ref("context", "context", "Context") }

// renderFile renders a file of package path with build, choosing import
// names that collide with nothing in scope.
func renderFile(path, name string, scope *types.Scope, build func(*gen)) ([]byte, error) {
	taken := map[string]bool{}
	for _, n := range types.Universe.Names() {
		taken[n] = true
	}
	if scope != nil {
		for _, n := range scope.Names() {
			taken[n] = true
		}
	}
	// Parameter names of generated functions and closures.
	for _, n := range []string{"ctx", "db", "p", "opts", "fn", "recv"} {
		taken[n] = true
	}

	// Pass 1: collect the referenced packages.
	g := &gen{f: jen.NewFilePathName(path, name), pkgNames: map[string]string{}, collecting: true}
	g.r = &typeRenderer{local: path, use: func(p *types.Package) { g.pkgNames[p.Path()] = p.Name() }}
	g.taken = taken
	build(g)

	// Choose import names: the runtime always as signalrt, then the
	// others in path order, each its package name unless that is taken.
	paths := make([]string, 0, len(g.pkgNames))
	for p := range g.pkgNames {
		if p != runtimePath {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	f := jen.NewFilePathName(path, name)
	f.HeaderComment(strings.TrimPrefix(Header, "// "))
	imports := map[string]string{}
	if _, ok := g.pkgNames[runtimePath]; ok {
		f.ImportAlias(runtimePath, runtimeAlias)
		taken[runtimeAlias] = true
		imports[runtimePath] = runtimeAlias
	}
	for _, p := range paths {
		pkgName := g.pkgNames[p]
		n := uniqueName(pkgName, taken)
		if n == pkgName && pkgName == lastElem(p) {
			f.ImportName(p, n)
		} else {
			f.ImportAlias(p, n)
		}
		imports[p] = n
	}

	// Pass 2: the code.
	g2 := &gen{f: f, pkgNames: g.pkgNames, taken: taken, imports: imports}
	g2.r = &typeRenderer{local: path}
	build(g2)
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// signalsFile builds the signals_gen.go of a target: per signal, its
// payload struct, its routes and its sender.
func (g *gen) signalsFile(prog *program, t *target) {
	f := g.f
	if t.path == prog.signals.path && prog.alone(t.path) {
		for _, l := range wrap(fmt.Sprintf("Package %s holds the senders of the signals that no package declares with //signal:define, generated by signalgen.", t.name)) {
			f.PackageComment(l)
		}
	}
	// const _ = signalrt.GeneratedCodeVersion1
	g.doc("Generated code is checked against the runtime's version: if this line does not compile, re-run go generate.")
	f.Const().Id("_").Op("=").Add(g.rt("GeneratedCodeVersion1"))
	for _, s := range t.signals {
		g.payload(s)
		g.routes(s)
		g.sender(s)
	}
}

// payload builds the payload struct.
//
//	type PaymentProcessCompletedPayload struct {
//		OrderID int64 `json:"order_id"`
//	}
func (g *gen) payload(s *signal) {
	f := g.f
	f.Line()
	if s.declared {
		g.doc(fmt.Sprintf("%s is the payload of signal %s, as declared by %s.", s.payloadName(), s.name, s.typeName))
	} else {
		g.doc(fmt.Sprintf("%s is the payload of signal %s: the parameters of its receivers.", s.payloadName(), s.name))
	}
	var fields []jen.Code
	for _, a := range s.args {
		fields = append(fields, jen.Id(a.field()).Add(g.r.code(a.typ)).Tag(map[string]string{"json": a.jsonName()}))
	}
	f.Type().Id(s.payloadName()).Struct(fields...)

	// func (PaymentProcessCompletedPayload) SignalName() string
	f.Line()
	g.doc(fmt.Sprintf("SignalName returns %q, the name of the signal whose payload this is. Test helpers find the sends of a payload type by it (signaltest.Sent).", s.name))
	f.Func().Params(jen.Id(s.payloadName())).Id(signalNameMethod).Params().String().Block(jen.Return(jen.Lit(s.name)))
}

// signalNameMethod is the method of every payload type that returns its
// signal's name. No payload field may have its name.
const signalNameMethod = "SignalName"

// routes builds the routes variable.
//
//	var paymentProcessCompletedRoutes = []signalrt.Route{
//		{Receiver: "example.com/shop/shipping.ReserveStock", Queue: "warehouse", MaxAttempts: 10, Timeout: 30 * time.Second},
//	}
func (g *gen) routes(s *signal) {
	f := g.f
	f.Line()
	if len(s.receivers) == 0 {
		g.doc(fmt.Sprintf("%s is empty: signal %s has no receivers.", s.routesName(), s.name))
		f.Var().Id(s.routesName()).Index().Add(g.rt("Route"))
		return
	}
	g.doc(fmt.Sprintf("%s are the receivers of signal %s, by key.", s.routesName(), s.name))
	var items []jen.Code
	for _, r := range s.receivers {
		kv := []jen.Code{
			jen.Id("Receiver").Op(":").Lit(r.key),
			jen.Id("Queue").Op(":").Lit(r.queueName()),
		}
		if r.attempts > 0 {
			kv = append(kv, jen.Id("MaxAttempts").Op(":").Lit(r.attempts))
		}
		if r.timeout > 0 {
			kv = append(kv, jen.Id("Timeout").Op(":").Add(g.duration(r.timeout)))
		}
		if r.priority != 0 {
			kv = append(kv, jen.Id("Priority").Op(":").Lit(r.priority))
		}
		items = append(items, jen.Values(kv...))
	}
	f.Var().Id(s.routesName()).Op("=").Index().Add(g.rt("Route")).Custom(multi, items...)
}

// multi renders a composite literal one element per line.
var multi = jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}

// duration renders d in its largest exact unit: 30 * time.Second.
func (g *gen) duration(d time.Duration) jen.Code {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}, {time.Nanosecond, "Nanosecond"}} {
		if d%u.d != 0 {
			continue
		}
		unit := g.ref("time", "time", u.name)
		if d == u.d {
			return unit
		}
		return jen.Lit(int(d / u.d)).Op("*").Add(unit)
	}
	return jen.Lit(int(d))
}

// sender builds the typed send function.
//
//	func SendPaymentProcessCompleted(ctx context.Context, db signalrt.Executor, p PaymentProcessCompletedPayload, opts ...signalrt.SendOption) error {
//		return signalrt.Send(ctx, db, "payment_process_completed", paymentProcessCompletedRoutes, p, opts...)
//	}
func (g *gen) sender(s *signal) {
	f := g.f
	f.Line()
	g.doc(fmt.Sprintf("%s sends signal %s: it enqueues one task per receiver on db, in one round trip, and wakes the workers when db's transaction commits. Pass the caller's transaction (a pgx.Tx) as db to send atomically with the caller's work; opts can delay the tasks (signalrt.After, signalrt.At).", s.senderName(), s.name))
	f.Comment("")
	if len(s.receivers) == 0 {
		g.doc(fmt.Sprintf("Signal %s has no receivers yet: sending it does nothing.", s.name))
	} else {
		f.Comment("Receivers:")
		f.Comment("")
		for _, r := range s.receivers {
			f.Comment(fmt.Sprintf("  - %s (queue %s)", r.key, r.queueName()))
		}
	}
	f.Func().Id(s.senderName()).Params(
		jen.Id("ctx").Add(g.ctxType()),
		jen.Id("db").Add(g.rt("Executor")),
		jen.Id("p").Id(s.payloadName()),
		jen.Id("opts").Op("...").Add(g.rt("SendOption")),
	).Error().Block(
		jen.Return(g.rt("Send").Call(jen.Id("ctx"), jen.Id("db"), jen.Lit(s.name), jen.Id(s.routesName()), jen.Id("p"), jen.Id("opts").Op("..."))),
	)
}

// dispatchFile builds dispatch_gen.go: the receivers' signature
// assertions, the Table function, and the structs that the receivers
// decode their payloads into.
func (g *gen) dispatchFile(prog *program, d *dispatchPkg) {
	f := g.f
	if prog.alone(d.path) {
		for _, l := range wrap(fmt.Sprintf("Package %s holds the dispatch table of the signal receivers, generated by signalgen. Import it only from the program that runs the workers.", d.name)) {
			f.PackageComment(l)
		}
	}
	g.doc("Generated code is checked against the runtime's version: if this line does not compile, re-run go generate.")
	f.Const().Id("_").Op("=").Add(g.rt("GeneratedCodeVersion1"))

	// The names the file declares, free of each other and of the file's
	// other names.
	names := g.dispatchNames(d)

	// var _ func(context.Context, int64) error = shipping.ReserveStock
	var asserts []jen.Code
	for _, r := range d.receivers {
		if a := g.assertion(r); a != nil {
			asserts = append(asserts, a)
		}
	}
	if len(asserts) > 0 {
		f.Line()
		g.doc("The receivers' signatures, checked by the compiler: if one of these lines does not compile, a receiver changed; re-run go generate.")
		f.Var().Defs(asserts...)
	}

	f.Line()
	g.doc(fmt.Sprintf("Table returns the dispatch table of %s, for signalrt.NewWorker or signalrt.RunUntilIdle. Each entry decodes from a task's payload the fields that its receiver reads, and calls the receiver.", count(len(d.receivers), "receiver")))
	if len(d.bindings) > 0 {
		f.Comment("")
		f.Comment("Method receivers are called on the instances given:")
		f.Comment("")
		pointers := false
		for _, b := range d.bindings {
			var ms []string
			for _, r := range b.methods {
				ms = append(ms, r.displayName())
			}
			f.Comment(fmt.Sprintf("  - %s: the %s%s.%s for %s", names.params[b], ptr(b.pointer), b.typ.Pkg().Name(), b.typ.Name(), joinNames(ms)))
			pointers = pointers || b.pointer
		}
		if pointers {
			f.Comment("")
			g.doc("A nil instance leaves its methods unbound (signalrt.Receiver.Unbound): the table is then usable only by signalrt.CheckTasks, which calls no receiver; signalrt.NewWorker and signalrt.WithInline refuse it.")
		}
	}
	var sigParams []jen.Code
	var stmts []jen.Code
	for _, b := range d.bindings {
		param := names.params[b]
		t := g.r.qual(b.typ.Pkg(), b.typ.Name())
		if b.pointer {
			t = jen.Op("*").Add(t)
		}
		sigParams = append(sigParams, jen.Id(param).Add(t))
		if v := names.unbound[b]; v != "" {
			// var mailerUnbound string
			// if mailer == nil {
			// 	mailerUnbound = "dispatch.Table's parameter mailer (*mail.Mailer)"
			// }
			what := fmt.Sprintf("%s.Table's parameter %s (%s%s)", d.name, param, ptr(b.pointer), g.typeText(b.typ))
			stmts = append(stmts,
				jen.Var().Id(v).String(),
				jen.If(jen.Id(param).Op("==").Nil()).Block(jen.Id(v).Op("=").Lit(what)),
			)
		}
	}
	var entries []jen.Code
	for _, r := range d.receivers {
		entries = append(entries, g.entry(r, names))
	}
	body := jen.Return(g.rt("Table").Values())
	if len(entries) > 0 {
		body = jen.Return(g.rt("Table").Custom(multi, entries...))
	}
	f.Func().Id("Table").Params(sigParams...).Add(g.rt("Table")).Block(append(stmts, body)...)

	g.argsTypes(d, names)
}

func ptr(p bool) string {
	if p {
		return "*"
	}
	return ""
}

// typeText is how the file writes the named type tn: mail.Mailer, under
// the name that the file imports its package as.
func (g *gen) typeText(tn *types.TypeName) string {
	pkg := tn.Pkg()
	if pkg == nil || pkg.Path() == g.r.local {
		return tn.Name()
	}
	n := g.imports[pkg.Path()]
	if n == "" {
		n = pkg.Name() // the first pass: the text is not rendered
	}
	return n + "." + tn.Name()
}

// dispatchNames are the names that dispatch_gen.go declares or uses in
// Table, chosen free of each other and of the file's other names.
type dispatchNames struct {
	// params are Table's parameters, one per receiver type.
	params map[*binding]string
	// unbound are Table's variables that say which pointer parameter is
	// nil (mailerUnbound), one per pointer parameter.
	unbound map[*binding]string
	// args are the structs that the receivers decode into.
	args map[*receiver]*argsType
}

// argsType is the struct that a receiver decodes its tasks' payloads
// into: the payload fields it reads, with their types and JSON keys.
// encoding/json ignores the payload's other fields, so that a change to a
// field that the receiver does not read cannot fail its tasks.
type argsType struct {
	r      *receiver
	name   string      // mailerSendReceiptArgs; "" when r reads no field (it decodes into struct{})
	fields []argsField // in the payload's order
	// handle and decode are set when the package cannot name the type of
	// a field (an unexported type, or a type of a package it may not
	// import): the struct then has a type parameter for each such field,
	// and these generic functions, which infer the type arguments from
	// the receiver's function, build the entry's Handle and Decode.
	handle, decode string
}

// argsField is one field of an argsType.
type argsField struct {
	arg *arg
	// tparam is the type parameter that stands for the field's type when
	// the package cannot name it; "" otherwise.
	tparam string
}

// generic reports whether the struct has type parameters.
func (a *argsType) generic() bool { return a.handle != "" }

// tparams lists the struct's type parameters, in field order.
func (a *argsType) tparams() []string {
	var out []string
	for _, f := range a.fields {
		if f.tparam != "" {
			out = append(out, f.tparam)
		}
	}
	return out
}

// field returns the field of the receiver parameter named name.
func (a *argsType) field(name string) argsField {
	for _, f := range a.fields {
		if f.arg.name == name {
			return f
		}
	}
	panic("generator: receiver parameter " + name + " is not a field of its struct")
}

// dispatchNames chooses the file's names.
//
// A receiver's struct is named after the receiver, in lowerCamelCase and
// followed by Args: its type and method names (mailerSendReceiptArgs for
// Mailer.SendReceipt), or its function name (reserveStockArgs). When
// several receivers would get one name, each of them is prefixed with its
// package name (shippingReserveStockArgs); when they still share one (a
// function that receives several signals, packages of the same name),
// the signal's Go name follows (auditOnEventOrderPlacedArgs). A name that
// is still in use gets the smallest number from 2 that frees it before
// Args (count2Args), in the order of the receiver keys. The generic functions of a struct are named
// like it, ending in Handle and Decode instead of Args.
//
// Table's parameters are named after their types, in lowerCamelCase
// (mailer for Mailer), prefixed with the package name when two types share
// a name or the name is in use; the variable that says that a pointer
// parameter is nil is the parameter's name followed by Unbound.
func (g *gen) dispatchNames(d *dispatchPkg) dispatchNames {
	taken := map[string]bool{}
	for n := range g.taken {
		taken[n] = true
	}
	for _, p := range g.pkgNames {
		taken[p] = true
	}
	taken["Table"] = true
	names := dispatchNames{params: map[*binding]string{}, unbound: map[*binding]string{}, args: map[*receiver]*argsType{}}

	// The structs.
	tiers := []func(r *receiver) string{
		func(r *receiver) string { return unexportedName(strings.ReplaceAll(r.displayName(), ".", "_")) },
		func(r *receiver) string {
			return unexportedName(r.pkg.Name() + "_" + strings.ReplaceAll(r.displayName(), ".", "_"))
		},
		func(r *receiver) string {
			return unexportedName(r.pkg.Name() + "_" + strings.ReplaceAll(r.displayName(), ".", "_") + "_" + r.signal.goName)
		},
	}
	base := map[*receiver]string{}
	var pending []*receiver
	for _, r := range d.receivers {
		if len(r.params) > 0 {
			pending = append(pending, r)
		}
	}
	for i, tier := range tiers {
		n := map[string]int{}
		for _, r := range pending {
			n[tier(r)]++
		}
		var next []*receiver
		for _, r := range pending {
			if n[tier(r)] == 1 || i == len(tiers)-1 {
				base[r] = tier(r)
			} else {
				next = append(next, r)
			}
		}
		pending = next
	}
	for _, r := range d.receivers {
		a := &argsType{r: r}
		names.args[r] = a
		if len(r.params) == 0 {
			continue
		}
		opaque := false
		for _, ar := range r.signal.args {
			p := r.param(ar.name)
			if p == nil {
				continue
			}
			f := argsField{arg: ar}
			if !g.writable(ar.typ) || !g.writable(p.typ) {
				f.tparam = "?" // named below
				opaque = true
			}
			a.fields = append(a.fields, f)
		}
		b := base[r]
		if !token.IsIdentifier(b) {
			b = "receiver"
		}
		name := b
		for i := 2; taken[name+"Args"] || token.IsKeyword(name+"Args") || opaque && (taken[name+"Handle"] || taken[name+"Decode"]); i++ {
			name = b + strconv.Itoa(i)
		}
		a.name = name + "Args"
		taken[a.name] = true
		if opaque {
			a.handle, a.decode = name+"Handle", name+"Decode"
			taken[a.handle], taken[a.decode] = true, true
		}
	}
	// The type parameters, local to their declarations: free of the
	// package-level names these use.
	for _, r := range d.receivers {
		a := names.args[r]
		k := 0
		for i := range a.fields {
			if a.fields[i].tparam == "" {
				continue
			}
			k++
			tp := "T" + strconv.Itoa(k)
			for taken[tp] {
				tp += "_"
			}
			a.fields[i].tparam = tp
		}
	}

	// Table's parameters and variables.
	count := map[string]int{}
	for _, b := range d.bindings {
		count[b.typ.Name()]++
	}
	for _, b := range d.bindings {
		base := unexportedName(b.typ.Name())
		if count[b.typ.Name()] > 1 || base == "" {
			base = unexportedName(b.typ.Pkg().Name() + "_" + b.typ.Name())
		}
		if taken[base] || !token.IsIdentifier(base) {
			base = unexportedName(b.typ.Pkg().Name() + "_" + b.typ.Name())
		}
		names.params[b] = uniqueName(base, taken)
	}
	for _, b := range d.bindings {
		if b.pointer {
			names.unbound[b] = uniqueName(names.params[b]+"Unbound", taken)
		}
	}
	return names
}

// writable reports whether the dispatch file can write type t.
func (g *gen) writable(t types.Type) bool {
	return nameable(t, g.r.local) && importable(t, g.r.local)
}

// assertion returns the compile-time check of a receiver's signature, or
// nil when its parameter types cannot be named from the dispatch package.
//
//	_ func(*mail.Mailer, context.Context, int64, string) error = (*mail.Mailer).SendReceipt
func (g *gen) assertion(r *receiver) jen.Code {
	sig := r.fn.Signature()
	var types_ []jen.Code
	var target *jen.Statement
	if r.recvType != nil {
		t := g.r.qual(r.recvType.Pkg(), r.recvType.Name())
		if r.ptrRecv {
			types_ = append(types_, jen.Op("*").Add(g.r.qual(r.recvType.Pkg(), r.recvType.Name())))
			target = jen.Parens(jen.Op("*").Add(t)).Dot(r.fn.Name())
		} else {
			types_ = append(types_, g.r.qual(r.recvType.Pkg(), r.recvType.Name()))
			target = t.Dot(r.fn.Name())
		}
	} else {
		target = g.r.qual(r.pkg, r.fn.Name())
	}
	for i := 0; i < sig.Params().Len(); i++ {
		pt := sig.Params().At(i).Type()
		if !nameable(pt, g.r.local) || !importable(pt, g.r.local) {
			return nil
		}
		types_ = append(types_, g.r.code(pt))
	}
	return jen.Id("_").Func().Params(types_...).Error().Op("=").Add(target)
}

// entry builds one Table entry.
//
//	{
//		Key: "example.com/shop/mail.Mailer.SendReceipt", Signal: "payment_process_completed", Queue: "default",
//		Contract: "sha256:0123456789abcdef",
//		Handle: signalrt.Typed(func(ctx context.Context, p mailerSendReceiptArgs) error {
//			return mailer.SendReceipt(ctx, p.OrderID, p.Email)
//		}),
//		Decode:  signalrt.DecodeAs[mailerSendReceiptArgs],
//		Unbound: mailerUnbound,
//	}
func (g *gen) entry(r *receiver, names dispatchNames) jen.Code {
	s := r.signal
	a := names.args[r]
	var handle, decode jen.Code
	switch {
	case a.generic():
		// storeHandle(jobs.Store), storeDecode(jobs.Store)
		fn := g.receiverFunc(r)
		var hargs []jen.Code
		if r.binding != nil {
			hargs = append(hargs, jen.Id(names.params[r.binding]))
		}
		handle = jen.Id(a.handle).Call(append(hargs, fn)...)
		decode = jen.Id(a.decode).Call(g.receiverFunc(r))
	default:
		var argType *jen.Statement
		pname := "p"
		if a.name == "" {
			argType, pname = jen.Struct(), "_"
		} else {
			argType = jen.Id(a.name)
		}
		args := []jen.Code{jen.Id("ctx")}
		for _, p := range r.params {
			args = append(args, jen.Id("p").Dot(s.arg(p.name).field()))
		}
		var call *jen.Statement
		if r.binding != nil {
			call = jen.Id(names.params[r.binding]).Dot(r.fn.Name()).Call(args...)
		} else {
			call = g.r.qual(r.pkg, r.fn.Name()).Call(args...)
		}
		handle = g.rt("Typed").Call(jen.Func().Params(jen.Id("ctx").Add(g.ctxType()), jen.Id(pname).Add(argType)).Error().Block(jen.Return(call)))
		decode = g.rt("DecodeAs").Types(argType.Clone())
	}
	fields := []jen.Code{
		jen.Id("Key").Op(":").Lit(r.key),
		jen.Id("Signal").Op(":").Lit(s.name),
		jen.Id("Queue").Op(":").Lit(r.queueName()),
		jen.Id("Contract").Op(":").Lit(r.contract),
	}
	if l := r.limit; l != (limit{}) {
		var kv []jen.Code
		if l.concurrency > 0 {
			kv = append(kv, jen.Id("Concurrency").Op(":").Lit(l.concurrency))
		}
		if l.rate > 0 {
			kv = append(kv, jen.Id("Rate").Op(":").Lit(l.rate), jen.Id("Per").Op(":").Add(g.duration(l.per)))
		}
		if l.burst > 0 {
			kv = append(kv, jen.Id("Burst").Op(":").Lit(l.burst))
		}
		fields = append(fields, jen.Id("Limit").Op(":").Add(g.rt("Limit")).Values(kv...))
	}
	fields = append(fields,
		jen.Id("Handle").Op(":").Add(handle),
		jen.Id("Decode").Op(":").Add(decode),
	)
	if r.binding != nil && names.unbound[r.binding] != "" {
		fields = append(fields, jen.Id("Unbound").Op(":").Id(names.unbound[r.binding]))
	}
	return jen.Custom(multi, fields...)
}

// receiverFunc refers to the receiver as a function value that does not
// evaluate an instance: jobs.Store, or the method expression
// (*mail.Mailer).SendReceipt, whose first parameter has the type of the
// receiver's Table parameter.
func (g *gen) receiverFunc(r *receiver) jen.Code {
	if r.binding == nil {
		return g.r.qual(r.pkg, r.fn.Name())
	}
	t := g.r.qual(r.recvType.Pkg(), r.recvType.Name())
	if r.binding.pointer {
		return jen.Parens(jen.Op("*").Add(t)).Dot(r.fn.Name())
	}
	return t.Dot(r.fn.Name())
}

// argsTypes builds the structs that the receivers decode into, after a
// comment that says how they are named, and the generic functions of
// those with type parameters.
//
//	// mailerSendReceiptArgs holds the fields of
//	// payments.PaymentProcessCompletedPayload that receiver
//	// mail.Mailer.SendReceipt reads.
//	type mailerSendReceiptArgs struct {
//		OrderID int64  `json:"order_id"`
//		Email   string `json:"email"`
//	}
func (g *gen) argsTypes(d *dispatchPkg, names dispatchNames) {
	f := g.f
	first := true
	for _, r := range d.receivers {
		a := names.args[r]
		if a.name == "" {
			continue
		}
		if first {
			first = false
			f.Line()
			g.doc("Each receiver decodes a task's payload into a struct of only the payload fields that it reads, with their types and JSON keys: encoding/json ignores the other fields, so that a change to a field that a receiver does not read cannot fail its tasks. A receiver that reads no field decodes into struct{}.")
			f.Comment("")
			g.doc("A receiver's struct is named after it, in lowerCamelCase and followed by Args: its type and method names (mailerSendReceiptArgs for a method Mailer.SendReceipt), or its function name. When receivers would share a name, each is prefixed with its package name; when they still do, its signal's Go name follows; a name still in use gets the smallest number from 2 that frees it before Args, in the order of the receiver keys.")
		}
		payload := r.signal.payloadName()
		if n := g.importName(r.signal.target.path, r.signal.target.name); n != "" {
			payload = n + "." + payload
		}
		f.Line()
		g.doc(fmt.Sprintf("%s holds the fields of %s that receiver %s.%s reads.", a.name, payload, r.pkg.Name(), r.displayName()))
		var fields []jen.Code
		for _, fl := range a.fields {
			var t jen.Code = jen.Id(fl.tparam)
			if fl.tparam == "" {
				t = g.r.code(fl.arg.typ)
			}
			fields = append(fields, jen.Id(fl.arg.field()).Add(t).Tag(map[string]string{"json": fl.arg.jsonName()}))
		}
		if !a.generic() {
			f.Type().Id(a.name).Struct(fields...)
			continue
		}
		var tdecl, targs []jen.Code
		for _, tp := range a.tparams() {
			tdecl = append(tdecl, jen.Id(tp).Any())
			targs = append(targs, jen.Id(tp))
		}
		f.Comment("")
		g.doc(g.opaqueDoc(a))
		f.Type().Id(a.name).Types(tdecl...).Struct(fields...)

		// The receiver's function type, with the type parameters for the
		// types that cannot be written.
		var fnParams []jen.Code
		var recvParam []jen.Code
		callArgs := []jen.Code{jen.Id("ctx")}
		if r.binding != nil {
			t := g.r.qual(r.recvType.Pkg(), r.recvType.Name())
			if r.binding.pointer {
				t = jen.Op("*").Add(t)
			}
			fnParams = append(fnParams, t)
			recvParam = append(recvParam, jen.Id("recv").Add(t.Clone()))
			callArgs = []jen.Code{jen.Id("recv"), jen.Id("ctx")}
		}
		fnParams = append(fnParams, g.ctxType())
		for _, p := range r.params {
			fl := a.field(p.name)
			if fl.tparam != "" {
				fnParams = append(fnParams, jen.Id(fl.tparam))
			} else {
				fnParams = append(fnParams, g.r.code(p.typ))
			}
			callArgs = append(callArgs, jen.Id("p").Dot(fl.arg.field()))
		}
		fnType := func() *jen.Statement { return jen.Func().Params(fnParams...).Error() }
		inst := jen.Id(a.name).Types(targs...)

		f.Line()
		calls := "calls fn, the receiver, with its fields"
		if r.binding != nil {
			calls = "calls fn, the receiver's method, on recv with its fields"
		}
		g.doc(fmt.Sprintf("%s returns the Handle function of receiver %s.%s: it decodes a payload into %s and %s.", a.handle, r.pkg.Name(), r.displayName(), a.name, calls))
		f.Func().Id(a.handle).Types(tdecl...).Params(append(recvParam, jen.Id("fn").Add(fnType()))...).Add(g.rt("Handler")).Block(
			jen.Return(g.rt("Typed").Call(jen.Func().Params(jen.Id("ctx").Add(g.ctxType()), jen.Id("p").Add(inst)).Error().Block(
				jen.Return(jen.Id("fn").Call(callArgs...)),
			))),
		)
		f.Line()
		g.doc(fmt.Sprintf("%s returns the Decode function of receiver %s.%s, which decodes as %s does; its argument gives only the type arguments.", a.decode, r.pkg.Name(), r.displayName(), a.handle))
		f.Func().Id(a.decode).Types(tdecl...).Params(fnType()).Func().Params(jen.Index().Byte()).Error().Block(
			jen.Return(g.rt("DecodeAs").Types(inst.Clone())),
		)
	}
}

// opaqueDoc says why the struct of a has type parameters.
func (g *gen) opaqueDoc(a *argsType) string {
	var fields []string
	for _, f := range a.fields {
		if f.tparam != "" {
			fields = append(fields, f.arg.field()+" ("+f.tparam+")")
		}
	}
	if len(fields) == 1 {
		return fmt.Sprintf("This package cannot name the type of field %s: a type parameter stands for it, which %s and %s infer from the receiver's function.", fields[0], a.handle, a.decode)
	}
	return fmt.Sprintf("This package cannot name the types of fields %s: type parameters stand for them, which %s and %s infer from the receiver's function.", joinNames(fields), a.handle, a.decode)
}

// importName is the name under which the file imports path (whose package
// is named name), or "" for the file's own package.
func (g *gen) importName(path, name string) string {
	if path == g.r.local {
		return ""
	}
	if n := g.imports[path]; n != "" {
		return n
	}
	return name
}

// nameable reports whether t can be written in a file of package local:
// it names no unexported type of another package, and has no anonymous
// struct with unexported fields of another package.
func nameable(t types.Type, local string) bool {
	ok := true
	seen := map[types.Type]bool{}
	var walk func(types.Type)
	walk = func(t types.Type) {
		if !ok || seen[t] {
			return
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Alias:
			obj := t.Obj()
			if obj.Pkg() != nil && !obj.Exported() && obj.Pkg().Path() != local {
				walk(types.Unalias(t))
				return
			}
			for i := 0; i < t.TypeArgs().Len(); i++ {
				walk(t.TypeArgs().At(i))
			}
		case *types.Named:
			obj := t.Obj()
			if obj.Pkg() != nil && !obj.Exported() && obj.Pkg().Path() != local {
				ok = false
			}
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
				fl := t.Field(i)
				if !fl.Exported() && fl.Pkg() != nil && fl.Pkg().Path() != local {
					ok = false
				}
				walk(fl.Type())
			}
		case *types.Signature, *types.Interface, *types.TypeParam:
			ok = false
		}
	}
	walk(t)
	return ok
}

// importable reports whether every package that t refers to may be
// imported by package local: values of a type can be used where its package
// cannot be imported, but the type cannot be written there.
func importable(t types.Type, local string) bool {
	for _, p := range typePackages(t, local) {
		if !canImport(local, p) {
			return false
		}
	}
	return true
}

// alone reports whether the package at path has no files but ours (or
// does not exist yet), so that a generated package comment is its only one.
func (prog *program) alone(path string) bool {
	p := prog.byPath[path]
	if p == nil {
		return true
	}
	for _, f := range p.GoFiles {
		if !prog.old[f] {
			return false
		}
	}
	return true
}

// count says how many things there are: "no receivers", "1 receiver",
// "6 receivers".
func count(n int, thing string) string {
	switch n {
	case 0:
		return "no " + thing + "s"
	case 1:
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// doc adds a comment paragraph, wrapped.
func (g *gen) doc(text string) {
	for _, l := range wrap(text) {
		g.f.Comment(l)
	}
}

// wrap breaks text into lines of at most 76 columns, between words.
func wrap(text string) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > 76 {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
