package generator

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"
)

// shapesOf type-checks src (a package with types Old and New) and returns
// the payload-style shapes of both: a struct with one field "p" of the
// type.
func shapesOf(t *testing.T, src string) (old, new *shape) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", "package x\n"+src, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.Default()}
	pkg, err := conf.Check("example.com/x", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wrap := func(name string) *shape {
		return &shape{kind: kStruct, fields: []shapeField{{"p", shapeOf(pkg.Scope().Lookup(name).Type())}}}
	}
	return wrap("Old"), wrap("New")
}

// TestCompareShapes classifies changes of a payload field's Go type.
func TestCompareShapes(t *testing.T) {
	cases := []struct {
		name, src string
		breaking  bool
		want      string // in the first message, if any
	}{
		{"same", "type Old int64; type New = int64", false, ""},
		{"int64 to string", "type Old int64; type New string", true, `field "p" was int64, is now string: tasks already queued will not decode`},
		{"int32 to int64 widens", "type Old int32; type New int64", false, ""},
		{"int64 to int32 narrows", "type Old int64; type New int32", true, "does not fit"},
		{"int to float64", "type Old int; type New float64", false, ""},
		{"float64 to int", "type Old float64; type New int", true, "does not fit"},
		{"int to uint", "type Old int; type New uint", true, "does not fit"},
		{"pointer added", "type Old struct{ A int }; type New struct{ A *int }", false, ""},
		{"struct to slice", "type Old struct{ A int }; type New []struct{ A int }", true, "was {\"A\" int}, is now []{\"A\" int}"},
		{"renamed named type, same shape", "type Line struct{ SKU string `json:\"sku\"` }; type Item struct{ SKU string `json:\"sku\"` }; type Old []Line; type New []Item", false, ""},
		{"json tag change is a rename", "type Old struct{ SKU string `json:\"sku\"` }; type New struct{ SKU string `json:\"item_sku\"` }", true, `field "p.sku" was renamed to "p.item_sku"`},
		{"nested field added", "type Old struct{ A int }; type New struct{ A int; B string }", false, ""},
		{"nested field removed", "type Old struct{ A int; B string }; type New struct{ A int }", false, ""},
		{"nested type change through pointer and map", "type In struct{ N int }; type In2 struct{ N string }; type Old map[string]*In; type New map[string]*In2", true, `field "p[].N" was int, is now string`},
		{"map key string to int", "type Old map[string]int; type New map[int]int", true, "will not decode"},
		{"map key int to string", "type Old map[int]int; type New map[string]int", false, ""},
		{"embedded struct flattened is the same shape", "type Base struct{ ID int64 `json:\"id\"` }; type Old struct{ Base; Name string `json:\"name\"` }; type New struct{ ID int64 `json:\"id\"`; Name string `json:\"name\"` }", false, ""},
		{"embedded field type change", "type Base struct{ ID int64 `json:\"id\"` }; type Base2 struct{ ID string `json:\"id\"` }; type Old struct{ Base }; type New struct{ Base2 }", true, `field "p.id" was int64, is now string`},
		{"time.Time is opaque", "import \"time\"; type Old time.Time; type New = time.Time", true, "will not decode"},
		{"time.Time to RawMessage", "import (\"time\"; \"encoding/json\"); type Old time.Time; type New = json.RawMessage", false, ""},
		{"string to []byte", "type Old string; type New []byte", true, "was string, is now bytes"},
		{"a type with its own MarshalJSON is opaque", "type Cents int64; func (Cents) MarshalJSON() ([]byte, error) { return nil, nil }; type Old = Cents; type New = int64", true, `was opaque("example.com/x.Cents"), is now int64`},
		{",string option", "type Old struct{ N int64 `json:\",string\"` }; type New struct{ N int64 }", true, "was string(int64)"},
		{"slice to shorter array", "type Old []int; type New [2]int", true, "dropped silently"},
		{"recursive type renamed", "type T struct{ Kids []T }; type U struct{ Kids []U }; type Old T; type New U", true, "ref("},
	}
	if len(cases) < 20 {
		t.Fatal("the table must cover at least 20 changes")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strings.HasPrefix(c.src, "import") {
				imp, rest, _ := strings.Cut(c.src, "; type")
				c.src = imp + "\ntype" + rest
			}
			old, new := shapesOf(t, c.src)
			// The canonical text parses back to itself.
			for _, s := range []*shape{old, new} {
				back, err := parseShape(s.String())
				if err != nil || back.String() != s.String() {
					t.Fatalf("parseShape(%s) = %v, %v", s, back, err)
				}
			}
			d := compareShapes(old, new, "")
			if got := len(d.breaking) > 0; got != c.breaking {
				t.Fatalf("%s -> %s: breaking = %v, want %v (%+v)", old, new, got, c.breaking, d)
			}
			if c.want != "" && !strings.Contains(d.breaking[0].msg(), c.want) {
				t.Errorf("message %q does not contain %q", d.breaking[0].msg(), c.want)
			}
		})
	}
}

// lock builds a contract file from signals (name -> fields) and receiver
// lines, with correct fingerprints.
func lock(t *testing.T, signals map[string][]string, receivers ...string) *contract {
	t.Helper()
	c := &contract{signals: map[string]*sigContract{}, receivers: map[string]*recvContract{}}
	for name, fields := range signals {
		s, err := parseShape("{" + strings.Join(fields, ", ") + "}")
		if err != nil {
			t.Fatal(err)
		}
		c.signals[name] = &sigContract{shape: s}
	}
	text := string(c.text())
	for _, r := range receivers {
		text += "receiver " + r + "\n"
	}
	parsed, err := parseContract([]byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return parsed
}

// TestCompareContracts classifies changes of signals and receivers.
func TestCompareContracts(t *testing.T) {
	base := lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" int64`}},
		"m.Mail signal=order_placed queue=mail reads=email,order_id", "m.Ship signal=order_placed queue=default reads=order_id")
	cases := []struct {
		name     string
		old      *contract // nil means base
		new      *contract
		breaking bool
		want     string
	}{
		{"unchanged", nil, base, false, ""},
		{"new signal", nil, lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" int64`}, "refunded": {`"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=email,order_id", "m.Ship signal=order_placed queue=default reads=order_id"), false, "signal refunded is new"},
		{"new optional field", nil, lock(t, map[string][]string{"order_placed": {`"coupon" *string`, `"email" string`, `"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=email,order_id", "m.Ship signal=order_placed queue=default reads=order_id"), false, `field "coupon" is new`},
		{"new receiver", nil, lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=email,order_id", "m.Ship signal=order_placed queue=default reads=order_id", "m.Audit signal=order_placed queue=default reads=order_id"), false, "receiver m.Audit of signal order_placed is new"},
		{"queue change", nil, lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail2 reads=email,order_id", "m.Ship signal=order_placed queue=default reads=order_id"), false, "stay on queue mail"},
		{"field removed that no receiver reads", lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=order_id", "m.Ship signal=order_placed queue=default reads=order_id"), lock(t, map[string][]string{"order_placed": {`"order_id" int64`}},
			"m.Ship signal=order_placed queue=default reads=order_id", "m.Mail signal=order_placed queue=mail reads=order_id"), false, `field "email" is gone; no receiver read it`},
		{"field removed that a receiver reads", nil, lock(t, map[string][]string{"order_placed": {`"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=order_id", "m.Ship signal=order_placed queue=default reads=order_id"), true, `field "email" is gone, but receiver m.Mail of the previous version reads it`},
		{"field type change", nil, lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" string`}},
			"m.Mail signal=order_placed queue=mail reads=email,order_id", "m.Ship signal=order_placed queue=default reads=order_id"), true, `payload of signal order_placed: field "order_id" was int64, is now string: tasks already queued will not decode for receivers m.Mail and m.Ship, which read "order_id"; keep the old field and add a new one, or send a new signal (to accept it, run signalgen once with -accept-breaking; under go generate, add -accept-breaking right after signalgen in the //go:generate line for that one run)`},
		{"field renamed", nil, lock(t, map[string][]string{"order_placed": {`"email" string`, `"id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=email,id", "m.Ship signal=order_placed queue=default reads=id"), true, `field "order_id" was renamed to "id"`},
		{"receiver renamed", nil, lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=email,order_id", "m.Shipping signal=order_placed queue=default reads=order_id"), true, `receiver m.Ship of signal order_placed is gone (renamed, or its name= changed): its tasks already queued would die as "unknown receiver"; keep the key with name=m.Ship`},
		{"receiver moved to another signal", nil, lock(t, map[string][]string{"order_placed": {`"email" string`, `"order_id" int64`}, "paid": {`"order_id" int64`}},
			"m.Mail signal=order_placed queue=mail reads=email,order_id", "m.Ship signal=paid queue=default reads=order_id"), true, "was a receiver of signal order_placed, is now of signal paid"},
		{"signal removed with receivers", nil, lock(t, map[string][]string{}), true, "signal order_placed is gone, but receiver m.Mail and m.Ship had tasks of it"},
	}
	checkChanges(t, base, cases)
}

// checkChanges runs the cases of TestCompareContracts and
// TestCompareContractsReaders: the changes from old (nil: base) to new,
// whether one is breaking, and a message that they contain.
func checkChanges(t *testing.T, base *contract, cases []struct {
	name     string
	old      *contract
	new      *contract
	breaking bool
	want     string
}) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := c.old
			if old == nil {
				old = base
			}
			changes := compareContracts(old, c.new)
			breaking := false
			var msgs []string
			for _, ch := range changes {
				breaking = breaking || ch.breaking
				msgs = append(msgs, ch.msg)
			}
			if breaking != c.breaking {
				t.Errorf("breaking = %v, want %v; changes:\n%s", breaking, c.breaking, strings.Join(msgs, "\n"))
			}
			all := strings.Join(msgs, "\n")
			if c.want == "" && len(changes) > 0 {
				t.Errorf("want no changes, got:\n%s", all)
			}
			if !strings.Contains(all, c.want) {
				t.Errorf("changes do not contain %q:\n%s", c.want, all)
			}
		})
	}
}

// TestCompareContractsReaders classifies changes of payload fields by the
// receivers that read them: each receiver decodes only its fields, so a
// change breaks only the receivers that read the field, in the recorded
// version or, if they were receivers of the signal then, in the new one.
func TestCompareContractsReaders(t *testing.T) {
	fields := func(userID, source string) map[string][]string {
		return map[string][]string{"user_signed_up": {`"email" string`, `"source" ` + source, `"user_id" ` + userID}}
	}
	// m.A reads user_id, m.B reads email; nothing reads source.
	base := lock(t, fields("int64", "int64"),
		"m.A signal=user_signed_up queue=default reads=user_id", "m.B signal=user_signed_up queue=default reads=email")
	cases := []struct {
		name     string
		old      *contract
		new      *contract
		breaking bool
		want     string
	}{
		{"type change of a field that no receiver reads", nil, lock(t, fields("int64", "string"),
			"m.A signal=user_signed_up queue=default reads=user_id", "m.B signal=user_signed_up queue=default reads=email"),
			false, `payload of signal user_signed_up: field "source" was int64, is now string; no receiver reads "source"`},
		{"type change of a field that one receiver reads", nil, lock(t, fields("string", "int64"),
			"m.A signal=user_signed_up queue=default reads=user_id", "m.B signal=user_signed_up queue=default reads=email"),
			true, `payload of signal user_signed_up: field "user_id" was int64, is now string: tasks already queued will not decode for receiver m.A, which reads "user_id"; keep the old field and add a new one, or send a new signal (to accept it,`},
		{"type change of a field that a receiver starts reading", nil, lock(t, fields("string", "int64"),
			"m.A signal=user_signed_up queue=default reads=user_id", "m.B signal=user_signed_up queue=default reads=email,user_id"),
			true, `for receivers m.A and m.B, which read "user_id"`},
		{"type change of a field that its only receiver stops reading", nil, lock(t, fields("string", "int64"),
			"m.A signal=user_signed_up queue=default reads=", "m.B signal=user_signed_up queue=default reads=email"),
			true, `for receiver m.A (in the previous version), which reads "user_id"`},
		{"type change of a field that only a new receiver reads", lock(t, fields("int64", "int64"),
			"m.B signal=user_signed_up queue=default reads=email"), lock(t, fields("string", "int64"),
			"m.B signal=user_signed_up queue=default reads=email", "m.C signal=user_signed_up queue=default reads=user_id"),
			false, `field "user_id" was int64, is now string; no receiver reads "user_id"`},
		{"narrowed number that no receiver reads", nil, lock(t, fields("int64", "int32"),
			"m.A signal=user_signed_up queue=default reads=user_id", "m.B signal=user_signed_up queue=default reads=email"),
			false, `field "source" was int64, is now int32; no receiver reads "source"`},
		{"rename of a field that no receiver reads", nil, lock(t, map[string][]string{"user_signed_up": {`"email" string`, `"origin" int64`, `"user_id" int64`}},
			"m.A signal=user_signed_up queue=default reads=user_id", "m.B signal=user_signed_up queue=default reads=email"),
			false, `field "source" was renamed to "origin" (or its JSON key changed); no receiver reads "source" or "origin"`},
		{"rename of a field that a receiver reads under its new name", nil, lock(t, map[string][]string{"user_signed_up": {`"email" string`, `"origin" int64`, `"user_id" int64`}},
			"m.A signal=user_signed_up queue=default reads=origin,user_id", "m.B signal=user_signed_up queue=default reads=email"),
			true, `field "source" was renamed to "origin" (or its JSON key changed): its data in tasks already queued would be dropped silently for receiver m.A, which reads "source" or "origin"`},
	}
	checkChanges(t, base, cases)
	// The breaking message names only the receiver that reads the field.
	for _, ch := range compareContracts(base, cases[1].new) {
		if strings.Contains(ch.msg, "m.B") {
			t.Errorf("a change to user_id names m.B, which does not read it: %s", ch.msg)
		}
	}
}

// TestReceiverFingerprint checks what a receiver's contract depends on:
// its key and the shape of the fields it reads, not the other fields.
func TestReceiverFingerprint(t *testing.T) {
	payload := func(userID string) *shape {
		s, err := parseShape(`{"email" string, "source" int64, "user_id" ` + userID + `}`)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := receiverFingerprint("m.A", payload("int64"), []string{"user_id"})
	b := receiverFingerprint("m.B", payload("int64"), []string{"email"})
	if got := receiverFingerprint("m.B", payload("string"), []string{"email"}); got != b {
		t.Errorf("m.B's contract changed with a field it does not read: %s, was %s", got, b)
	}
	if got := receiverFingerprint("m.A", payload("string"), []string{"user_id"}); got == a {
		t.Errorf("m.A's contract did not change with the type of a field it reads: %s", got)
	}
	if got := receiverFingerprint("m.C", payload("int64"), []string{"user_id"}); got == a {
		t.Errorf("m.C, which reads what m.A reads, has m.A's contract %s: the runtime would take their declines for each other's", got)
	}
	if want := fingerprint(`m.A {"user_id" int64}`); a != want {
		t.Errorf("m.A's contract is %s, want the fingerprint of its key and fields, %s", a, want)
	}
}

// TestParseContractEdited refuses a contract file whose fields do not
// match its fingerprint.
func TestParseContractEdited(t *testing.T) {
	text := strings.Replace(string(lock(t, map[string][]string{"s": {`"a" int`}}).text()), `"a" int`, `"a" string`, 1)
	if _, err := parseContract([]byte(text)); err == nil || !strings.Contains(err.Error(), "edited by hand") {
		t.Fatalf("parseContract of an edited file: %v", err)
	}
}

// TestParseContractReceivers reads the receivers' contract=, refuses one
// that does not match the fields the receiver reads, and reads the
// receiver lines of files written before contract= was recorded.
func TestParseContractReceivers(t *testing.T) {
	old := lock(t, map[string][]string{"s": {`"a" int`, `"b" string`}}, "m.R signal=s queue=default reads=a")
	if got := old.receivers["m.R"].contract; got != "" {
		t.Fatalf("a receiver line without contract= gave contract %q", got)
	}
	c := &contract{signals: old.signals, receivers: old.receivers}
	c.receivers["m.R"].contract = receiverFingerprint("m.R", c.signals["s"].shape, []string{"a"})
	text := string(c.text())
	want := "receiver m.R signal=s queue=default reads=a contract=" + c.receivers["m.R"].contract + "\n"
	if !strings.Contains(text, want) {
		t.Fatalf("contract file does not contain %q:\n%s", want, text)
	}
	back, err := parseContract([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if back.receivers["m.R"].contract != c.receivers["m.R"].contract || string(back.text()) != text {
		t.Errorf("the contract file does not read back to itself:\n%s", back.text())
	}
	edited := strings.Replace(text, "reads=a ", "reads=b ", 1)
	if _, err := parseContract([]byte(edited)); err == nil || !strings.Contains(err.Error(), "receiver m.R: the contract is") || !strings.Contains(err.Error(), "edited by hand") {
		t.Errorf("parseContract of a file whose receiver reads were edited: %v", err)
	}
}
