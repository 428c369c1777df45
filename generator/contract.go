package generator

import (
	"bufio"
	"bytes"
	"fmt"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// ContractFile is the name of the contract file that signalgen keeps in the
// dispatch package's directory: the payload contract of every signal and
// receiver of the dispatch table, checked in and compared on every run.
const ContractFile = "signals.lock"

// contractHeader is the contract file's first line.
var contractHeader = "# " + strings.TrimPrefix(Header, "// ")

// contract is the recorded contract of a dispatch table.
type contract struct {
	signals   map[string]*sigContract
	receivers map[string]*recvContract
}

// sigContract is the contract of one signal: its payload's shape.
type sigContract struct {
	shape *shape
	line  int // in the contract file it was read from
	sig   *signal
}

// recvContract is the contract of one receiver.
type recvContract struct {
	signal, queue string
	reads         []string // the JSON names of the fields it reads, sorted
	// contract is the receiver's fingerprint (see [receiverFingerprint]);
	// "" in a file written before signalgen recorded it.
	contract string
	line     int
	recv     *receiver
}

// pos is where the signal is declared; invalid for a recorded contract.
func (s *sigContract) pos() token.Pos {
	if s.sig == nil {
		return token.NoPos
	}
	return s.sig.pos
}

// arg is the signal's argument with JSON name name, or nil.
func (s *sigContract) arg(name string) *arg {
	if s.sig == nil {
		return nil
	}
	return s.sig.argByJSON(name)
}

// pos is the receiver's directive; invalid for a recorded contract.
func (r *recvContract) pos() token.Pos {
	if r.recv == nil {
		return token.NoPos
	}
	return r.recv.pos
}

// contractOf returns the contract of model m.
func contractOf(m *model) *contract {
	c := &contract{signals: map[string]*sigContract{}, receivers: map[string]*recvContract{}}
	for _, s := range m.signals {
		c.signals[s.name] = &sigContract{shape: s.shape, sig: s}
		for _, r := range s.receivers {
			c.receivers[r.key] = &recvContract{signal: s.name, queue: r.queueName(), reads: r.reads(), contract: r.contract, recv: r}
		}
	}
	return c
}

// text renders the contract file: sorted, one payload field and one
// receiver per line, so that a change is a small diff.
//
//	signal order_placed sha256:0123456789abcdef
//		"lines" []{"qty" int, "sku" string}
//		"order_id" int64
//
//	receiver example.com/shop/shipping.ReserveStock signal=order_placed queue=warehouse reads=lines,order_id contract=sha256:fedcba9876543210
func (c *contract) text() []byte {
	var b bytes.Buffer
	b.WriteString(contractHeader + "\n")
	b.WriteString("#\n# The payload contract of every signal and receiver of this dispatch table.\n")
	b.WriteString("# signalgen compares each run with it and refuses changes that would break\n")
	b.WriteString("# tasks already queued, unless run with -accept-breaking. Commit it.\n")
	for _, name := range sortedKeys(c.signals) {
		s := c.signals[name]
		fmt.Fprintf(&b, "\nsignal %s %s\n", name, fingerprint(s.shape.String()))
		for _, f := range s.shape.fields {
			fmt.Fprintf(&b, "\t%q %s\n", f.name, f.s)
		}
	}
	if len(c.receivers) > 0 {
		b.WriteString("\n")
	}
	for _, key := range sortedKeys(c.receivers) {
		r := c.receivers[key]
		fmt.Fprintf(&b, "receiver %s signal=%s queue=%s reads=%s contract=%s\n", key, r.signal, r.queue, strings.Join(r.reads, ","), r.contract)
	}
	return b.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseContract reads a contract file. An error names the line. It
// accepts the receiver lines of files written before the receivers'
// contract= was recorded.
func parseContract(data []byte) (*contract, error) {
	c := &contract{signals: map[string]*sigContract{}, receivers: map[string]*recvContract{}}
	var cur *sigContract
	var curName, curFP string
	finish := func() error {
		if cur == nil {
			return nil
		}
		if got := fingerprint(cur.shape.String()); got != curFP {
			return fmt.Errorf("line %d: signal %s: the fingerprint is %s, but its fields hash to %s: the file was edited by hand; restore it from version control", cur.line, curName, curFP, got)
		}
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "\t"):
			if cur == nil {
				return nil, fmt.Errorf("line %d: a field outside a signal", n)
			}
			p := &shapeParser{s: line[1:]}
			name, err := p.quoted()
			if err == nil && !p.eat(" ") {
				err = fmt.Errorf("expected a space after the field name")
			}
			var s *shape
			if err == nil {
				s, err = parseShape(p.s)
			}
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			cur.shape.fields = append(cur.shape.fields, shapeField{name, s})
			continue
		}
		if err := finish(); err != nil {
			return nil, err
		}
		words := strings.Fields(line)
		switch {
		case len(words) == 3 && words[0] == "signal":
			curName, curFP = words[1], words[2]
			cur = &sigContract{shape: &shape{kind: kStruct}, line: n}
			c.signals[curName] = cur
		case (len(words) == 5 || len(words) == 6) && words[0] == "receiver":
			r := &recvContract{line: n}
			for _, w := range words[2:] {
				k, v, _ := strings.Cut(w, "=")
				switch k {
				case "signal":
					r.signal = v
				case "queue":
					r.queue = v
				case "reads":
					if v != "" {
						r.reads = strings.Split(v, ",")
					}
				case "contract":
					r.contract = v
				default:
					return nil, fmt.Errorf("line %d: unknown receiver attribute %q; valid attributes are contract, queue, reads and signal", n, k)
				}
			}
			c.receivers[words[1]] = r
		default:
			return nil, fmt.Errorf("line %d: expected \"signal NAME FINGERPRINT\", a tab-indented field, or \"receiver KEY signal=S queue=Q reads=F,... contract=C\"; found %q", n, line)
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, key := range sortedKeys(c.receivers) {
		r := c.receivers[key]
		s := c.signals[r.signal]
		if r.contract == "" || s == nil {
			continue
		}
		if got := receiverFingerprint(key, s.shape, r.reads); got != r.contract {
			return nil, fmt.Errorf("line %d: receiver %s: the contract is %s, but the fields it reads hash to %s: the file was edited by hand; restore it from version control", r.line, key, r.contract, got)
		}
	}
	return c, nil
}

// change is one difference between the recorded contract and the new one.
type change struct {
	breaking bool
	pos      token.Pos // in the new code; invalid when line is set
	line     int       // in the recorded contract file, for what is gone
	msg      string
}

// acceptHint ends every breaking change's message. Under go generate the
// flags are in the //go:generate line, so the hint says where the flag
// goes there (flags come before any package patterns).
const acceptHint = " (to accept it, run signalgen once with -accept-breaking; under go generate, add -accept-breaking right after signalgen in the //go:generate line for that one run)"

// compareContracts classifies every change from old to new.
func compareContracts(old, new *contract) []change {
	var out []change
	add := func(breaking bool, pos token.Pos, line int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if breaking {
			msg += acceptHint
		}
		out = append(out, change{breaking: breaking, pos: pos, line: line, msg: msg})
	}
	// Signals.
	for _, name := range sortedKeys(new.signals) {
		ns := new.signals[name]
		os, ok := old.signals[name]
		if !ok {
			add(false, ns.pos(), 0, "signal %s is new", name)
			continue
		}
		prefix := "payload of signal " + name + ": "
		d := compareShapes(os.shape, ns.shape, "")
		// A change that tasks already queued would not survive breaks
		// only the receivers that read the changed field: each decodes
		// only the fields it reads.
		for _, p := range d.breaking {
			pos := ns.pos()
			if a := ns.arg(p.top); a != nil {
				pos = a.pos
			}
			readers := fieldReaders(old, new, name, p.tops)
			if len(readers) == 0 {
				add(false, pos, 0, "%s%s; no receiver reads %s", prefix, p.head, quotedOr(p.tops))
				continue
			}
			add(true, pos, 0, "%s%s: %s for %s; %s", prefix, p.head, p.why, readersPhrase(readers, p.tops), p.fix)
		}
		for _, p := range d.notes {
			add(false, ns.pos(), 0, "%s%s", prefix, p.head)
		}
		// A removed top-level field that a receiver of the old version
		// reads: during the deploy, old workers run new tasks without it.
		for _, f := range d.removed {
			var readers []string
			for _, key := range sortedKeys(old.receivers) {
				r := old.receivers[key]
				if r.signal == name && contains(r.reads, f) {
					readers = append(readers, key)
				}
			}
			if len(readers) > 0 {
				add(true, ns.pos(), 0, "%sfield %q is gone, but receiver %s of the previous version reads it: while both versions run, its tasks sent by the new version decode with a zero %q; first stop reading it in the receivers and deploy, then remove it", prefix, f, joinNames(readers), f)
			} else {
				add(false, ns.pos(), 0, "%sfield %q is gone; no receiver read it", prefix, f)
			}
		}
	}
	gone := map[string]bool{}
	for _, name := range sortedKeys(old.signals) {
		if _, ok := new.signals[name]; ok {
			continue
		}
		gone[name] = true
		var rs []string
		for _, key := range sortedKeys(old.receivers) {
			if old.receivers[key].signal == name {
				rs = append(rs, key)
			}
		}
		if len(rs) > 0 {
			add(true, token.NoPos, old.signals[name].line, "signal %s is gone, but receiver %s had tasks of it: tasks already queued would die as \"unknown receiver\"; keep the signal and its receivers until its queue is drained", name, joinNames(rs))
		} else {
			add(false, token.NoPos, old.signals[name].line, "signal %s is gone", name)
		}
	}
	// Receivers.
	for _, key := range sortedKeys(old.receivers) {
		or := old.receivers[key]
		nr, ok := new.receivers[key]
		switch {
		case !ok && gone[or.signal]:
			// Reported with its signal.
		case !ok:
			// A new receiver of the same signal is probably the renamed one.
			var pos token.Pos
			for _, k := range sortedKeys(new.receivers) {
				r := new.receivers[k]
				if _, known := old.receivers[k]; !known && r.signal == or.signal {
					pos = r.pos()
					break
				}
			}
			if !pos.IsValid() {
				pos = new.signals[or.signal].pos()
			}
			add(true, pos, 0, "receiver %s of signal %s is gone (renamed, or its name= changed): its tasks already queued would die as \"unknown receiver\"; keep the key with name=%s", key, or.signal, key)
		case nr.signal != or.signal:
			add(true, nr.pos(), 0, "receiver %s was a receiver of signal %s, is now of signal %s: its tasks already queued carry the payload of %s; give it a new key with name=", key, or.signal, nr.signal, or.signal)
		case nr.queue != or.queue:
			add(false, nr.pos(), 0, "receiver %s moved from queue %s to queue %s: its tasks already queued stay on queue %s and run only while a worker still serves that queue", key, or.queue, nr.queue, or.queue)
		}
	}
	for _, key := range sortedKeys(new.receivers) {
		if _, ok := old.receivers[key]; !ok {
			add(false, new.receivers[key].pos(), 0, "receiver %s of signal %s is new", key, new.receivers[key].signal)
		}
	}
	return out
}

// fieldReaders returns the keys of the receivers of signal name that read
// one of the top-level payload fields fields ("" stands for the whole
// payload, which all of them read), sorted: the receivers of the new
// version that read it and were receivers of the signal in the old one
// too (the new worker decodes their tasks already queued; a new receiver
// has none), and the receivers of the old version that read it (its
// workers decode tasks that the new version sends while both run), marked
// " (in the previous version)" when they no longer read it.
func fieldReaders(old, new *contract, name string, fields []string) []string {
	reads := func(r *recvContract) bool {
		for _, f := range fields {
			if f == "" || contains(r.reads, f) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, key := range sortedKeys(old.receivers) {
		or := old.receivers[key]
		if or.signal != name {
			continue
		}
		nr, ok := new.receivers[key]
		switch {
		case ok && nr.signal == name && reads(nr):
			out = append(out, key)
		case reads(or):
			out = append(out, key+" (in the previous version)")
		}
	}
	return out
}

// readersPhrase says which receivers read which fields:
// `receiver m.Mail, which reads "email"`.
func readersPhrase(readers, fields []string) string {
	if len(readers) == 1 {
		return fmt.Sprintf("receiver %s, which reads %s", readers[0], quotedOr(fields))
	}
	return fmt.Sprintf("receivers %s, which read %s", joinNames(readers), quotedOr(fields))
}

// quotedOr lists top-level field names quoted, joined by "or"; "" stands
// for the whole payload.
func quotedOr(fields []string) string {
	var qs []string
	for _, f := range fields {
		if f == "" {
			return "the payload"
		}
		qs = append(qs, strconv.Quote(f))
	}
	return strings.Join(qs, " or ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// argByJSON finds an argument by its JSON name.
func (s *signal) argByJSON(name string) *arg {
	for _, a := range s.args {
		if a.jsonName() == name {
			return a
		}
	}
	return nil
}

// shapeDiff is the result of comparing two shapes.
type shapeDiff struct {
	breaking, notes []problem
	removed         []string // top-level fields gone, not renamed
}

// problem is one difference between two shapes: head says what changed
// (field "order_id" was int64, is now string), why what it does to tasks
// already queued, and fix what to do instead; a note has only a head. top
// is the top-level field it is in, in the new shape; tops are the
// top-level fields that a receiver must read to be affected (a field
// renamed at the top level has two names).
type problem struct {
	top            string
	tops           []string
	head, why, fix string
}

// msg is the problem's message without the fix: head and why.
func (p problem) msg() string {
	if p.why == "" {
		return p.head
	}
	return p.head + ": " + p.why
}

// keepOld is the fix of a breaking change of a field.
const keepOld = "keep the old field and add a new one, or send a new signal"

// compareShapes reports whether JSON written for old decodes into new.
// path is where the shapes are inside the payload ("" at its top).
func compareShapes(old, new *shape, path string) shapeDiff {
	var d shapeDiff
	top := func(p string) string {
		name, _, _ := strings.Cut(p, ".")
		name, _, _ = strings.Cut(name, "[")
		return name
	}
	var walk func(old, new *shape, path string)
	walk = func(old, new *shape, path string) {
		// Pointers are transparent: null and values decode either way.
		for old.kind == kPtr {
			old = old.elem
		}
		for new.kind == kPtr {
			new = new.elem
		}
		if new.kind == kRaw || old.String() == new.String() {
			return
		}
		what := "the payload"
		if path != "" {
			what = fmt.Sprintf("field %q", path)
		}
		broke := func(why string) {
			t := top(path)
			d.breaking = append(d.breaking, problem{top: t, tops: []string{t}, head: fmt.Sprintf("%s was %s, is now %s", what, old, new), why: why, fix: keepOld})
		}
		const noDecode = "tasks already queued will not decode"
		on, nn := numberRange(old.kind), numberRange(new.kind)
		switch {
		case on != nil && nn != nil:
			if !nn.holds(on) {
				broke("tasks already queued whose value does not fit will not decode")
			}
		case old.kind == kQuoted && new.kind == kQuoted:
			walk(old.elem, new.elem, path)
		case (old.kind == kSlice || old.kind == kArray) && (new.kind == kSlice || new.kind == kArray):
			if new.kind == kArray && (old.kind == kSlice || old.n > new.n) {
				broke("elements beyond its length in tasks already queued would be dropped silently")
				return
			}
			walk(old.elem, new.elem, path+"[]")
		case old.kind == kMap && new.kind == kMap:
			ok, nk := old.key, new.key
			if ok.String() != nk.String() && !(numberRange(ok.kind) != nil && nk.kind == "string") {
				if on, nn := numberRange(ok.kind), numberRange(nk.kind); on == nil || nn == nil || !nn.holds(on) {
					broke(noDecode)
					return
				}
			}
			walk(old.elem, new.elem, path+"[]")
		case old.kind == kStruct && new.kind == kStruct:
			compareFields(old, new, path, &d, top)
			for _, f := range old.fields {
				if nf := new.field(f.name); nf != nil {
					walk(f.s, nf, join(path, f.name))
				}
			}
		default:
			broke(noDecode)
		}
	}
	walk(old, new, path)
	return d
}

// compareFields classifies the fields that only old or only new has: a
// field gone and a field new of the same shape are a rename.
func compareFields(old, new *shape, path string, d *shapeDiff, top func(string) string) {
	var gone, added []shapeField
	for _, f := range old.fields {
		if new.field(f.name) == nil {
			gone = append(gone, f)
		}
	}
	for _, f := range new.fields {
		if old.field(f.name) == nil {
			added = append(added, f)
		}
	}
	renamed := map[string]bool{}
	for _, g := range gone {
		for _, a := range added {
			if !renamed[a.name] && g.s.String() == a.s.String() {
				renamed[a.name], renamed[g.name] = true, true
				t := top(join(path, a.name))
				tops := []string{t}
				if path == "" {
					tops = []string{g.name, a.name}
				}
				d.breaking = append(d.breaking, problem{top: t, tops: tops,
					head: fmt.Sprintf("field %q was renamed to %q (or its JSON key changed)", join(path, g.name), join(path, a.name)),
					why:  "its data in tasks already queued would be dropped silently", fix: keepOld})
				break
			}
		}
	}
	for _, g := range gone {
		switch {
		case renamed[g.name]:
		case path == "":
			d.removed = append(d.removed, g.name)
		default:
			d.notes = append(d.notes, problem{top: top(path), head: fmt.Sprintf("field %q is gone: its data in tasks already queued is ignored", join(path, g.name))})
		}
	}
	for _, a := range added {
		if !renamed[a.name] {
			d.notes = append(d.notes, problem{top: top(join(path, a.name)), head: fmt.Sprintf("field %q is new: tasks already queued decode with its zero value", join(path, a.name))})
		}
	}
}

// field returns the shape of a struct shape's field, or nil.
func (s *shape) field(name string) *shape {
	for _, f := range s.fields {
		if f.name == name {
			return f.s
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
