package generator

import (
	"go/token"
	"go/types"
	"sort"
	"time"
)

// model is the checked input: every signal with its arguments and
// receivers, and where the generated code goes. Emitters only render it.
type model struct {
	signals []*signal // sorted by name
	targets []*target // sorted by package path
	// dispatch is the dispatch package; nil when there are no signals.
	dispatch *dispatchPkg
}

// target is a package that gets a signals_gen.go: a package that declares
// signals, or the generated package of implicit signals.
type target struct {
	path, name, dir string
	pkg             *types.Package // nil when the package does not exist yet
	scope           *types.Scope   // pkg's scope, or nil
	signals         []*signal      // sorted by name
}

// dispatchPkg is the generated dispatch package.
type dispatchPkg struct {
	path, name, dir string
	scope           *types.Scope
	receivers       []*receiver // sorted by key
	bindings        []*binding  // sorted by package path, type name
}

// signal is one signal: declared with //signal:define, or implicit.
type signal struct {
	name      string // payment_process_completed
	goName    string // PaymentProcessCompleted
	declared  bool
	broken    bool      // a declaration with errors (already reported)
	typeName  string    // the declaring type, for declared signals
	pos       token.Pos // the define directive, or the first receiver's
	target    *target
	args      []*arg      // declaration order; sorted by name when implicit
	argPos    token.Pos   // the declaring type's name, for messages
	receivers []*receiver // sorted by key
	// shape is the JSON shape of the payload; set by setContracts. Its
	// fingerprint is in the contract file, and the receivers' in the
	// dispatch table.
	shape *shape
}

// setContracts computes the payload shape of every signal of m, and the
// contract fingerprint of every receiver.
func (m *model) setContracts() {
	for _, s := range m.signals {
		s.shape = s.payloadShape()
		for _, r := range s.receivers {
			r.contract = receiverFingerprint(r.key, s.shape, r.reads())
		}
	}
}

// payloadName is the payload struct's name: PaymentProcessCompletedPayload.
func (s *signal) payloadName() string { return s.goName + "Payload" }

// senderName is the sender's name: SendPaymentProcessCompleted.
func (s *signal) senderName() string { return "Send" + s.goName }

// routesName is the routes variable's name: paymentProcessCompletedRoutes.
func (s *signal) routesName() string { return unexportedName(s.goName) + "Routes" }

// argNames lists the argument names in order.
func (s *signal) argNames() []string {
	var names []string
	for _, a := range s.args {
		names = append(names, a.name)
	}
	return names
}

// arg finds an argument by name.
func (s *signal) arg(name string) *arg {
	for _, a := range s.args {
		if a.name == name {
			return a
		}
	}
	return nil
}

// arg is one argument of a signal: a field of its payload.
type arg struct {
	name string     // as declared: orderID
	typ  types.Type // as declared
	pkg  *types.Package
	pos  token.Pos // the declaration, or the first receiver parameter
	// from is the receiver that introduced an implicit signal's argument.
	from *receiver
}

// field is the payload struct field: OrderID.
func (a *arg) field() string { return exportedName(a.name) }

// exportable reports whether field is an exported identifier, so that
// encoding/json sees it: not for 日付 (no upper case) or _1 (no letter).
func (a *arg) exportable() bool {
	f := a.field()
	return token.IsIdentifier(f) && token.IsExported(f)
}

// jsonName is the field's JSON key: order_id.
func (a *arg) jsonName() string { return snakeName(a.name) }

// receiver is a function or method annotated with //signal:receiver.
type receiver struct {
	key        string
	signalName string
	signal     *signal
	fn         *types.Func
	pkg        *types.Package
	// recvType is the named type of a method receiver; nil for functions.
	recvType *types.TypeName
	// ptrRecv reports whether the method has a pointer receiver.
	ptrRecv bool
	params  []param // after the context
	queue   string  // as given; "" means the default queue
	// attempts and timeout are 0 when not given.
	attempts int
	timeout  time.Duration
	priority int // 0 when not given
	// limit is the concurrency=, rate= and burst= options (zero: none).
	limit     limit
	pos       token.Pos // the directive
	signalPos token.Pos // the directive's signal name
	binding   *binding  // the Table parameter a method is bound to
	// contract is the fingerprint of what the receiver decodes (see
	// [receiverFingerprint]); set by setContracts.
	contract string
}

// reads returns the JSON names of the payload fields that the receiver
// reads, sorted.
func (r *receiver) reads() []string {
	var reads []string
	for _, p := range r.params {
		reads = append(reads, r.signal.arg(p.name).jsonName())
	}
	sort.Strings(reads)
	return reads
}

// param returns the parameter named name, or nil.
func (r *receiver) param(name string) *param {
	for i := range r.params {
		if r.params[i].name == name {
			return &r.params[i]
		}
	}
	return nil
}

// param is one receiver parameter after the context.
type param struct {
	name string
	typ  types.Type
	pos  token.Pos
}

// displayName is how messages name the receiver: ReserveStock, or
// Mailer.SendReceipt.
func (r *receiver) displayName() string {
	if r.recvType != nil {
		return r.recvType.Name() + "." + r.fn.Name()
	}
	return r.fn.Name()
}

// defaultKey is the receiver key when name= is not given:
// example.com/shop/shipping.ReserveStock or
// example.com/shop/mail.Mailer.SendReceipt.
func (r *receiver) defaultKey() string { return r.pkg.Path() + "." + r.displayName() }

// queueName is the queue written into generated code: the given one or
// "default".
func (r *receiver) queueName() string {
	if r.queue == "" {
		return "default"
	}
	return r.queue
}

// binding is a parameter of the generated Table function: the instance
// that method receivers of one type are called on. Its name is chosen when
// the dispatch file is rendered, free of the file's import names.
type binding struct {
	typ     *types.TypeName
	pointer bool // the parameter is *T: some method of T has a pointer receiver
	methods []*receiver
}

// sortReceivers sorts receivers by key.
func sortReceivers(rs []*receiver) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].key < rs[j].key })
}

// limit is a receiver's limit options, as signalrt.Limit holds them.
type limit struct {
	concurrency, rate, burst int
	per                      time.Duration
}
