// Package generator turns //signal: directives into typed senders, JSON
// payload structs and a static dispatch table. It is the library behind
// the signalgen command (github.com/reliablesignals/signals/cmd/signalgen),
// and this comment is the directive reference.
//
// # Directives
//
// There are two directives. Like every Go directive they are line comments
// with no space after the slashes, //tool:name, and they go in the doc
// comment of the declaration they annotate, conventionally as its last
// paragraph:
//
//	//signal:receiver NAME [queue=Q] [attempts=N] [timeout=D] [priority=P]
//	                  [concurrency=N] [rate=N/UNIT] [burst=N] [name=KEY]
//	//signal:define [NAME]
//
// Arguments are separated by spaces (an argument may also be quoted like a
// Go string). A function or method may carry several //signal:receiver
// lines, one per signal it receives; all but one of them then need name=,
// since a receiver key names one receiver of one signal. A type carries at
// most one //signal:define.
//
// A comment that looks like a directive but is not one is an error, not
// silently ignored: "// signal:receiver" (a space after //), "//Signal:",
// "//signals:receiver", "//signal: receiver", an unknown name such as
// "//signal:recv", and a directive anywhere but in the doc comment of a
// function, method or function type (on a var, const or struct type, in a
// function body, or separated from its declaration by a blank line).
// Directives in _test.go files, and in files excluded by build
// constraints (see -tags), are not seen.
//
// # Signal names
//
// A signal name starts with a lower-case ASCII letter and has lower-case
// letters and digits in parts joined by single '_' or '.':
// payment_captured, payment.captured, order.v2.shipped. Name signals for
// what happened, not for what a receiver should do. The name is stored with
// every task, for inspection and logs; tasks find their receivers by
// receiver key (see Receivers).
//
// In Go identifiers the name becomes CamelCase, with Go's initialisms in
// upper case: payment.captured gives PaymentCapturedPayload and
// SendPaymentCaptured; user_id_changed gives UserIDChanged. Two signals
// whose generated identifiers collide in one package are an error.
//
// # Receivers
//
// //signal:receiver NAME goes on a function or method that receives signal
// NAME:
//
//	// ReserveStock holds the ordered items once the payment went through.
//	//
//	//signal:receiver payment_process_completed queue=warehouse attempts=10 timeout=30s
//	func ReserveStock(ctx context.Context, orderID int64, lines []orders.Line) error
//
// A receiver takes a context.Context first, then any subset of the signal's
// arguments, matched by parameter name, in any order; and it returns
// exactly error. Its parameters are named (not _), not variadic (take a
// slice), and their types round-trip through encoding/json (see Payload
// types). It is not generic, and not a method of a generic type. It is
// exported (a method: of an exported type), in a package of the main module
// other than package main, and the dispatch package must be allowed to
// import that package (mind internal directories; see -dispatch).
//
// Methods may have pointer or value receivers: the dispatch table calls
// them on an instance passed to Table (see What is generated).
//
// The options, each at most once, in any order:
//
//	queue=Q     The queue the receiver's tasks run on, so that workers can
//	            limit or separate them. Default: default (the runtime's
//	            DefaultQueue). Valid: one or more of a-z, 0-9, '_', '.', '-'.
//	attempts=N  How many times the receiver is tried before its task is
//	            kept as dead. Default: the runtime's DefaultMaxAttempts (25).
//	            Valid: an integer from 1 to 2147483647.
//	timeout=D   How long one attempt may run; the receiver's context is
//	            cancelled then. Default: the worker's Timeout (5m unless
//	            configured). Valid: a positive Go duration (30s, 1m30s,
//	            500ms) that is a whole number of milliseconds.
//	priority=P  Within the queue, due tasks of higher priority are claimed
//	            first; equal priorities run in due order. Default: 0. Valid:
//	            an integer from -100 to 100 (the runtime's MinPriority and
//	            MaxPriority). The runtime's Priority send option overrides
//	            it for one send.
//	concurrency=N
//	            The most tasks of the receiver running at once, in all
//	            workers together (signalrt.Limit). Default: no limit.
//	            Valid: a positive integer.
//	rate=N/UNIT The most task starts per second (N/s), minute (N/m) or hour
//	            (N/h), on average, in all workers together. Default: no
//	            limit. Valid: a positive integer, a slash, s, m or h.
//	burst=N     With rate=: how many tasks may start at once after a quiet
//	            spell. Default: 1. Valid: a positive integer.
//	name=KEY    The receiver key. Default: the import path, a dot, and the
//	            function name, or the type and method name:
//	            example.com/shop/shipping.ReserveStock,
//	            example.com/shop/mail.Mailer.SendReceipt. Valid: one or more
//	            printable characters without spaces.
//
// The receiver key is how a queued task finds its receiver: the sender
// stores it in each task, the dispatch table maps it to code. It is unique
// across the module. The default key changes when the function, its type or
// its package is renamed or moved, and tasks queued under the old key then
// end as dead tasks with an "unknown receiver" error; give name= to keep a
// key stable across such refactorings.
//
// # Declared signals
//
// //signal:define goes on a function type in the package that owns the
// event (usually the one that sends it):
//
//	// PaymentProcessCompleted is sent once a payment is captured.
//	//
//	//signal:define
//	type PaymentProcessCompleted func(orderID int64, email string, lines []orders.Line)
//
// The signal's name is the argument of the directive, or else the
// snake_case of the type name (payment_process_completed). The function
// type names every argument, has no results, is not variadic, takes no
// context.Context (the sender and each receiver get their own) and is not
// generic; a defined type of another function type is fine (type Paid
// Handler). The argument types round-trip through encoding/json.
//
// The declaration pins the signal's arguments, in its order. Every receiver
// parameter must be one of them, with the identical type; a mismatch is an
// error that shows the receiver's and the declaration's positions. The
// sender is generated into the declaring package, so it never imports a
// receiver, and the types the package owns never cause an import cycle. A
// signal may be declared once. A signal declared in package main, or in an
// internal package that the dispatch package may not import, cannot have
// receivers.
//
// # Implicit signals
//
// A signal that receivers name but no //signal:define declares is
// implicit. Its arguments are the union of its receivers' parameters,
// sorted by name; receivers that share a parameter name must agree on its
// type, else it is an error that shows both (declare the signal to settle
// it). The senders of all implicit signals go into one generated package:
// the directory signals in the main module's root, or the one given by
// -signals. That package imports the packages of the argument types, so a
// type whose package imports the signals package is an import cycle (an
// error that shows the chain and how to break it: declare the signal in
// the package that owns the event).
//
// A misspelled name would quietly make a signal of its own, which nothing
// sends. So a receiver's signal that no //signal:define declares but whose
// name is a near miss of a declared signal's name is an error at the name,
// which suggests the declared one: at most two edits apart (inserting,
// deleting or changing a character, or swapping two adjacent ones), and at
// most one edit per three characters of the shorter name. Names that
// differ only in their digits (order.v1.shipped, order.v2.shipped) are not
// near misses, and implicit signals are not compared with each other.
// Declare the name with //signal:define to keep it.
//
// An implicit signal whose sender no loaded package calls is a warning
// (file:line:col: warning: ...), at its first receiver's directive: it
// does not stop generation or change signalgen's exit status. The callers
// are found as for the signal graph (see below). Declare the signal in the
// package that sends it, or check its name.
//
// # Payload types
//
// A signal's arguments travel as JSON. Each becomes a field of the payload
// struct, named by the argument in CamelCase with a snake_case JSON key:
// orderID becomes OrderID `json:"order_id"`. Two arguments that give the
// same field or key (orderID and orderId) are an error, and so is a name
// that gives no exported field (日付, whose first letter has no upper case:
// encoding/json would skip the field), and an argument signalName, whose
// field SignalName would collide with the payload's method of that name.
//
// Allowed are the types encoding/json can encode and decode back: booleans,
// numbers, strings, pointers, slices, arrays, maps with string or integer
// keys (or keys that implement encoding.TextMarshaler and
// encoding.TextUnmarshaler), structs (their unexported fields, and fields
// tagged json:"-", are skipped), named types and aliases of these, generic
// types instantiated with these, and any type whose pointer implements
// json.Unmarshaler or encoding.TextUnmarshaler (time.Time,
// json.RawMessage). Rejected, with the reason: channels, funcs, interfaces
// (any, error: decoding cannot know the concrete type), complex numbers,
// unsafe.Pointer, and types the generated package cannot name (an
// unexported type of another package, an anonymous struct with unexported
// fields).
//
// # What is generated
//
// Each package that declares signals, and the signals package of implicit
// signals, gets a file signals_gen.go with, per signal:
//
//	// the payload struct, and its signal's name
//	type PaymentProcessCompletedPayload struct {
//		OrderID int64         `json:"order_id"`
//		Email   string        `json:"email"`
//		Lines   []orders.Line `json:"lines"`
//	}
//
//	func (PaymentProcessCompletedPayload) SignalName() string { return "payment_process_completed" }
//
//	// the routes: one per receiver, by key, with its options
//	var paymentProcessCompletedRoutes = []signalrt.Route{...}
//
//	// the typed sender
//	func SendPaymentProcessCompleted(ctx context.Context, db signalrt.Executor, p PaymentProcessCompletedPayload, opts ...signalrt.SendOption) error
//
// The sender enqueues one task per receiver on db in one round trip and
// wakes the workers with NOTIFY, which PostgreSQL delivers on commit. Pass
// the caller's transaction (a pgx.Tx) to send atomically with its work, or
// a pool or connection. opts delay the tasks (signalrt.After, signalrt.At).
// The sender knows its receivers by key only: it imports none of them. A
// signal without receivers still gets its payload and a sender, which does
// nothing.
//
// The dispatch package (signals/dispatch in the main module's root, or
// -dispatch) gets dispatch_gen.go: one function that returns the static
// dispatch table, for signalrt.NewWorker and signalrt.RunUntilIdle. Each
// entry decodes its task's payload and calls its receiver. Method receivers
// are bound to instances given to Table, one parameter per receiver type
// (a pointer if any method of the type has a pointer receiver), so the
// compiler checks that the worker supplies them all:
//
//	func Table(log audit.Log, mailer *mail.Mailer) signalrt.Table
//
// A nil pointer given to Table leaves its methods unbound: their entries
// name the parameter in signalrt.Receiver's Unbound field, and
// signalrt.NewWorker and signalrt.WithInline refuse the table, while
// signalrt.CheckTasks, which calls no receiver, accepts it.
//
// Import the dispatch package only from the program that runs the workers;
// a receiver's package that imports it is an import cycle.
//
// Each receiver decodes only the payload fields that it reads, into a
// struct of the dispatch package with those fields, their types and JSON
// keys; encoding/json ignores the payload's other fields. So a change to a
// field that a receiver does not read, even one that old JSON no longer
// decodes into, cannot fail its tasks (see the payload contract below). A
// receiver that reads no field decodes into struct{}:
//
//	// reserveStockArgs holds the fields of payments.PaymentProcessCompletedPayload
//	// that receiver shipping.ReserveStock reads.
//	type reserveStockArgs struct {
//		OrderID int64         `json:"order_id"`
//		Lines   []orders.Line `json:"lines"`
//	}
//
// The struct is named after the receiver, in lowerCamelCase and followed
// by Args: its type and method names (mailerSendReceiptArgs for
// Mailer.SendReceipt), or its function name; when receivers would share a
// name, each is prefixed with its package name (shippingReserveStockArgs),
// and when they still do, its signal's Go name follows; a name still in
// use gets a number before Args. A field whose type the dispatch package cannot
// write (an unexported type, or one of a package it may not import) gets a
// type parameter, which two generic functions of the dispatch file,
// reserveStockHandle and reserveStockDecode, infer from the receiver's
// function.
//
// Each entry also carries the receiver's contract fingerprint and a
// decoder that checks a payload without calling the receiver:
//
//	Contract: "sha256:1721972c41641304",
//	Decode:   signalrt.DecodeAs[reserveStockArgs],
//
// (see the payload contract below, and signalrt.CheckTasks).
//
// Generated code checks itself at compile time. Every file has
//
//	const _ = signalrt.GeneratedCodeVersion1
//
// which stops compiling when the runtime changes in a way the code cannot
// follow; and the dispatch file asserts each receiver's signature (where
// the dispatch package can write its types),
//
//	var _ func(context.Context, int64, []orders.Line) error = shipping.ReserveStock
//
// so that a receiver changed since the last generation is a compile error
// at that line. Either error means: re-run go generate. There is no
// reflection at run time and no registration by init. Generated code
// imports the runtime package as signalrt (the standard library has a
// package runtime too).
//
// # Files
//
// A generated file is named signals_gen.go or dispatch_gen.go (or
// signals.lock, whose first line is the same with # for //) and its first
// line is exactly
//
//	// Code generated by signalgen. DO NOT EDIT.
//
// Only such files are ever rewritten or removed: a file of either name
// without that line is an error, never overwritten. A generated file whose
// signals are gone is removed. Output is deterministic and gofmt'ed, with
// no version, time or absolute path in it. Files are written through a
// temporary file and a rename, only when their bytes change, and only when
// the whole input is free of errors.
//
// Regeneration works when the previous output is stale, broken or missing:
// the loader sees an empty stand-in for each old generated file. Type
// errors elsewhere in a package are tolerated (code that calls a sender not
// yet generated, for instance); only a directive's own declaration must
// type-check, and every file must parse.
//
// Problems are reported all at once, as file:line:col: message, relative to
// the working directory, sorted; each says what was found and what is
// allowed. Nothing is written then.
//
// # The payload contract
//
// Tasks outlive the code that sent them: during a deploy, and while a task
// waits for its retry, the worker that runs it is newer than the sender
// that wrote its payload. signalgen therefore records the contract of every
// signal and receiver in signals.lock, next to the generated dispatch
// package (one per dispatch table, which is what one worker binary runs),
// and compares each run with it. Commit the file.
//
// A signal's contract is its payload's JSON shape: the fields as encoded,
// sorted by JSON key, with their types followed through named types,
// pointers, slices, arrays, maps and embedded structs, as encoding/json
// sees them (json tags, "-", ",string", the hiding rules of embedded
// fields). Named types are transparent: a type renamed with the same
// shape is the same contract. Types that decode themselves (time.Time,
// types with UnmarshalJSON or UnmarshalText) are opaque and named;
// json.RawMessage takes anything; []byte is a base64 string; a recursive
// type refers to itself by name. One line per field:
//
//	signal payment_process_completed sha256:ad45cb2f1dffa8fb
//		"amount_cents" int64
//		"lines" []{"qty" int, "sku" string, "unit_cents" int64}
//		"order_id" int64
//
//	receiver example.com/shop/shipping.ReserveStock signal=payment_process_completed queue=warehouse reads=lines,order_id contract=sha256:1721972c41641304
//
// A signal's fingerprint is "sha256:" and the first 16 hex digits of the
// SHA-256 of the payload's canonical text ({"amount_cents" int64, "lines"
// ...}), the same text the file holds; a file edited by hand is an error.
// A receiver's contract is its key, its signal, its queue, the fields it
// reads and its fingerprint: the same digits of the SHA-256 of its key, a
// space, and the canonical text of the fields it reads ({"lines" ...,
// "order_id" int64}), which is what it decodes. The dispatch table carries
// it as the entry's Contract, so the file and the table cannot disagree.
//
// Workers publish these fingerprints, and a worker that cannot decode a
// task's payload leaves the task to a live worker of another version with
// another fingerprint for its receiver (see signalrt.Config's
// OrphanGrace). So the fingerprint is per receiver: it changes exactly
// when what the receiver decodes changes, not with the fields it does not
// read; and it includes the key, because the runtime compares a task's
// declined fingerprints with all of a worker's, and two receivers that
// read alike must not pass for one.
//
// Compatible changes are recorded silently (-v lists them): a new signal,
// a new field (tasks already queued decode with its zero value: make it a
// pointer to tell), a new receiver, a queue change (tasks already queued
// stay on the old queue and run only while a worker serves it), a field
// removed that no receiver read, a number widened (int32 to int64, int to
// float64), a pointer added or removed, and any change to a field that no
// receiver reads, in the recorded version or (for receivers already in
// it) in the new one: its type, even to one that old JSON no longer
// decodes into, or its name:
//
//	orders/orders.go:39:48: payload of signal order_placed: field "source" was int64, is now string; no receiver reads "source" (compatible)
//
// Breaking changes are errors at the changed declaration, all at once, and
// nothing is written. A change to a field's type or name is breaking when a
// receiver of the recorded version reads the field (its workers would fail
// on the new tasks while both versions run), or a receiver of both versions
// reads it in the new one (its tasks already queued would fail), and the
// message names those receivers; one that no longer reads the field is
// marked "(in the previous version)":
//
//	orders/orders.go:39:23: payload of signal order_placed: field "order_id" was int64, is now string: tasks already queued will not decode for receiver example.com/shop/mail.Mailer.SendReceipt, which reads "order_id"; keep the old field and add a new one, or send a new signal (to accept it, run signalgen once with -accept-breaking; under go generate, add -accept-breaking right after signalgen in the //go:generate line for that one run)
//
// They are: a type that old JSON no longer decodes into (int64 to string,
// a struct to a slice, a narrower number, a different opaque type, map
// keys that were strings now numbers), a field renamed or its JSON key
// changed (a field gone and one of the same shape new: the old key's data
// would be dropped silently), each when a receiver reads the field as
// above; a field removed that a receiver of the recorded version reads
// (during the deploy the old workers would decode new tasks with a zero
// value: stop reading it first, then remove it), a receiver key gone (its
// queued tasks would die as "unknown receiver"; the message points at the
// likely new receiver and suggests name=OLDKEY), a receiver moved to
// another signal, a signal gone that still had
// receivers. signalgen -accept-breaking records the new contract and
// prints each change it accepted. Under go generate, where the flags are
// in the //go:generate line, add -accept-breaking right after signalgen in
// that line for one run, then remove it again:
//
//	//go:generate go run github.com/reliablesignals/signals/cmd/signalgen -accept-breaking
//
// The file catches what changes in the code; signalrt.CheckTasks catches
// what is in the queue: run from the new worker binary before the deploy,
// it decodes every available, running and dead task's payload with the
// binary's own decoders (Receiver.Decode), checks every receiver key
// against its table, and reports per signal and receiver how many tasks
// would fail and why. The shop example's check mode shows the gate.
//
// # The signal graph
//
// signalgen -graph prints, as a Mermaid flowchart (or Graphviz DOT with
// -graph=dot), which package sends each signal, found from the calls of
// the generated senders through the type checker (a call made inside a
// receiver's own function is drawn from that receiver), and each signal's
// receivers with their package, key, queue and attempts. Signals that
// nothing sends, and the edges to their receivers, are dashed. Loops (a
// receiver that sends a signal whose receivers lead back to it) are drawn
// and reported on standard error; they are not errors. A send through a
// helper function of the receiver's package is drawn from the package.
//
// -graph-into FILE keeps the Mermaid graph in a Markdown file up to date,
// between these two lines, which FILE must contain:
//
//	<!-- Code generated by signalgen -graph. DO NOT EDIT. -->
//	<!-- End of the code generated by signalgen -graph. -->
//
// The file is then written and checked (-check) like the generated code.
//
// # The signalgen command
//
//	signalgen [-check] [-accept-breaking] [-graph[=dot]] [-graph-into FILE] [-signals DIR] [-dispatch DIR] [-tags LIST] [-v] [packages]
//
// Packages are go list patterns. The default is the whole module that the
// working directory is in, which is what you nearly always want: the
// dispatch table and the implicit signals are built from all of the
// module's receivers. Patterns that leave out a package with directives are
// therefore an error, unless -signals and -dispatch are given, to generate a
// separate table for a part of the module (for one of several worker
// programs, say). Flags:
//
//	-check         write nothing; print a unified diff of what would change
//	-accept-breaking  record a payload contract that breaks queued tasks,
//	               printing each change accepted
//	-graph[=FMT]   write nothing; print the signal graph (mermaid or dot)
//	-graph-into FILE  keep the Mermaid graph in Markdown FILE up to date
//	-signals DIR   the directory of the implicit signals' package
//	               (default: signals in the main module's root)
//	-dispatch DIR  the directory of the dispatch package
//	               (default: signals/dispatch in the main module's root)
//	-tags LIST     comma-separated build tags for loading the packages
//	-v             report each file written or removed, and each compatible
//	               change of the payload contract
//
// Exit status: 0 when the code was generated (with -check: it is up to
// date); 1 for problems in the input (with -check: the code is stale, and
// the diff is on standard output); 2 for usage errors, and with -check for
// any error, so that CI can tell stale code from broken input. Warnings
// are printed, with -check too, and leave the exit status alone.
//
// Run it from go generate in any package of the module, with the module's
// pinned version:
//
//	//go:generate go run github.com/reliablesignals/signals/cmd/signalgen
//
// or as a tool: go get -tool github.com/reliablesignals/signals/cmd/signalgen,
// then //go:generate go tool signalgen. In CI, signalgen -check.
//
// # Example
//
// A module example.com/shop with two packages:
//
//	// Package payments captures payments.
//	package payments
//
//	import (
//		"context"
//
//		"github.com/jackc/pgx/v5"
//	)
//
//	// PaymentCaptured is sent once a payment is captured.
//	//
//	//signal:define payment.captured
//	type PaymentCaptured func(orderID int64, email string)
//
//	// Capture records a payment and sends the signal in the same transaction.
//	func Capture(ctx context.Context, tx pgx.Tx, orderID int64, email string) error {
//		// ... the payment's own writes on tx ...
//		return SendPaymentCaptured(ctx, tx, PaymentCapturedPayload{OrderID: orderID, Email: email})
//	}
//
//	// Package mail sends e-mail.
//	package mail
//
//	import "context"
//
//	// Mailer sends e-mail from one address.
//	type Mailer struct{ From string }
//
//	// SendReceipt mails the receipt of a paid order.
//	//
//	//signal:receiver payment.captured queue=mail attempts=5
//	func (m *Mailer) SendReceipt(ctx context.Context, email string, orderID int64) error {
//		// ...
//		return nil
//	}
//
// signalgen writes payments/signals_gen.go, with PaymentCapturedPayload
// and SendPaymentCaptured, and signals/dispatch/dispatch_gen.go, with
//
//	func Table(mailer *mail.Mailer) signalrt.Table
//
// which the worker program uses:
//
//	table := dispatch.Table(&mail.Mailer{From: "shop@example.com"})
//	w, err := signalrt.NewWorker(pool, table, signalrt.Config{})
//
// The files generated for a larger example, with every kind of receiver
// and argument type, are in this package's testdata/golden directory.
package generator
