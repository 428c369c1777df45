package generator

import (
	"fmt"
	"go/token"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// parsed summarises parseComment's result for comparison: the canonical
// directive, or the diagnostics as "col: message" (col is 1-based).
func parsed(text string) (dir string, diags []string, ours bool) {
	const base = 1
	d, ds, ours := parseComment(base, text)
	if d != nil && !d.broken {
		dir = d.String()
	}
	if d != nil && d.broken != (len(ds) > 0) {
		diags = append(diags, fmt.Sprintf("broken=%v with %d diagnostics", d.broken, len(ds)))
	}
	for _, dg := range ds {
		diags = append(diags, fmt.Sprintf("%d: %s", int(dg.pos)-base+1, dg.msg))
	}
	return dir, diags, ours
}

func TestParseComment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text  string
		dir   string
		diags []string
		ours  bool
	}{
		{text: "// just a comment"},
		{text: "//go:generate signalgen"},
		{text: "/* signal:receiver x */"},
		{text: "// Signals are sent once."},
		{text: "//signal:receiver payment_captured", dir: "//signal:receiver payment_captured", ours: true},
		{text: "//signal:receiver payment.captured  queue=warehouse attempts=10 timeout=30s name=shop.reserve ", dir: "//signal:receiver payment.captured queue=warehouse attempts=10 timeout=30s name=shop.reserve", ours: true},
		{text: "//signal:receiver x priority=10", dir: "//signal:receiver x priority=10", ours: true},
		{text: "//signal:receiver x priority=-100 queue=bulk", dir: "//signal:receiver x priority=-100 queue=bulk", ours: true},
		{text: "//signal:receiver x priority=101", ours: true, diags: []string{"21: option priority=101 is invalid: priority must be an integer from -100 to 100 (higher runs first; default 0), e.g. priority=10"}},
		{text: "//signal:receiver x priority=1.5", ours: true, diags: []string{"21: option priority=1.5 is invalid: priority must be an integer from -100 to 100 (higher runs first; default 0), e.g. priority=10"}},
		{text: "//signal:receiver x concurrency=5 rate=100/s burst=20", dir: "//signal:receiver x concurrency=5 rate=100/s burst=20", ours: true},
		{text: "//signal:receiver x rate=10/m", dir: "//signal:receiver x rate=10/m", ours: true},
		{text: "//signal:receiver x concurrency=0", ours: true, diags: []string{"21: option concurrency=0 is invalid: concurrency must be a positive integer (the most tasks of the receiver running at once in all workers), e.g. concurrency=5"}},
		{text: "//signal:receiver x rate=100", ours: true, diags: []string{"21: option rate=100 is invalid: rate is a positive number of task starts per s, m or h, in all workers, e.g. rate=100/s or rate=10/m"}},
		{text: "//signal:receiver x rate=5/d", ours: true, diags: []string{"21: option rate=5/d is invalid: rate is a positive number of task starts per s, m or h, in all workers, e.g. rate=100/s or rate=10/m"}},
		{text: "//signal:receiver x burst=3", ours: true, diags: []string{"21: option burst=3 needs rate=: burst is the size of the rate limit's bucket, e.g. rate=100/s burst=20"}},
		{text: "//signal:receiver x priority=", ours: true, diags: []string{"21: option priority= is invalid: priority must be an integer from -100 to 100 (higher runs first; default 0), e.g. priority=10"}},
		{text: "//signal:define", dir: "//signal:define", ours: true},
		{text: "//signal:define payment.captured", dir: "//signal:define payment.captured", ours: true},
		{text: "//signal:receiver", ours: true, diags: []string{"1: //signal:receiver needs a signal name: " + receiverUsage}},
		{text: "//signal:receiver queue=x", ours: true, diags: []string{"19: //signal:receiver needs a signal name before its options, found queue=x: " + receiverUsage}},
		{text: "//signal:receiver Payment-Done", ours: true, diags: []string{`19: signal name "Payment-Done" is malformed: a signal name starts with a lower-case letter and has lower-case letters and digits in parts joined by single '_' or '.', e.g. payment_captured or payment.captured`}},
		{text: "//signal:receiver x retries=3", ours: true, diags: []string{`21: unknown option "retries"; valid options are attempts, burst, concurrency, name, priority, queue, rate, timeout`}},
		{text: "//signal:receiver x fast", ours: true, diags: []string{`21: unexpected argument "fast" after the signal name; options are key=value, one of attempts, burst, concurrency, name, priority, queue, rate, timeout`}},
		{text: "//signal:receiver x attempts=0", ours: true, diags: []string{"21: option attempts=0 is invalid: attempts must be a positive integer (at most 2147483647), e.g. attempts=10"}},
		{text: "//signal:receiver x timeout=abc", ours: true, diags: []string{"21: option timeout=abc is invalid: timeout must be a positive duration such as 30s, 1m30s or 500ms"}},
		{text: "//signal:receiver x timeout=1500us", ours: true, diags: []string{"21: option timeout=1500us is invalid: timeout must be a whole number of milliseconds"}},
		{text: "//signal:receiver x queue=Big", ours: true, diags: []string{"21: option queue=Big is malformed: a queue name is one or more lower-case letters, digits, '_', '.' and '-', e.g. queue=warehouse"}},
		{text: "//signal:receiver x queue=a queue=b", ours: true, diags: []string{"29: option queue is given twice; give each option at most once"}},
		{text: "//signal:receiver x name=", ours: true, diags: []string{"21: option name= is malformed: a receiver key is one or more printable characters without spaces"}},
		{text: `//signal:receiver x "unterminated`, ours: true, diags: []string{`19: invalid quoted string in //signal:receiver: "unterminated`}},
		{text: "//signal:define a b", ours: true, diags: []string{`19: //signal:define takes at most one argument, the signal name, found "b" as well`}},
		{text: "//signal:define queue=x", ours: true, diags: []string{"17: //signal:define has no options, found queue=x; options belong to each //signal:receiver"}},
		{text: "//signal:recv x", ours: true, diags: []string{"1: unknown directive //signal:recv; valid directives are //signal:define and //signal:receiver"}},
		{text: "//signal:Receiver x", ours: true, diags: []string{"1: unknown directive //signal:Receiver; valid directives are //signal:define and //signal:receiver"}},
		{text: "//signal:", ours: true, diags: []string{"1: directive //signal: has no name; valid directives are //signal:define and //signal:receiver"}},
		{text: "//signal: receiver x", ours: true, diags: []string{`1: malformed directive "//signal: receiver x": no space is allowed after //signal:; write //signal:receiver`}},
		{text: "// signal:receiver x", ours: true, diags: []string{`1: comment "// signal:receiver x" is not a directive: a directive has no spaces and is lower case; write //signal:receiver`}},
		{text: "//Signal:define", ours: true, diags: []string{`1: comment "//Signal:define" is not a directive: a directive has no spaces and is lower case; write //signal:define`}},
		{text: "//signals:receiver x", ours: true, diags: []string{"1: unknown directive //signals:receiver; the directive prefix is //signal: (singular): write //signal:receiver"}},
		{text: "//signalgen:define", ours: true, diags: []string{"1: unknown directive //signalgen:define; the directive prefix is //signal: (singular): write //signal:define"}},
	}
	for _, tt := range tests {
		dir, diags, ours := parsed(tt.text)
		if diff := cmp.Diff(tt.dir, dir); diff != "" {
			t.Errorf("parseComment(%q) directive (-want +got):\n%s", tt.text, diff)
		}
		if diff := cmp.Diff(tt.diags, diags); diff != "" {
			t.Errorf("parseComment(%q) diagnostics (-want +got):\n%s", tt.text, diff)
		}
		if ours != tt.ours {
			t.Errorf("parseComment(%q) ours = %v, want %v", tt.text, ours, tt.ours)
		}
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	d, diags, _ := parseComment(token.Pos(1), "//signal:receiver s queue=q.1 attempts=7 timeout=1m30s name=k")
	if len(diags) > 0 || d == nil {
		t.Fatalf("diagnostics: %v", diags)
	}
	got := fmt.Sprintf("%s %s %d %v %s", d.signal, d.queue, d.attempts, d.timeout, d.key)
	if want := fmt.Sprintf("s q.1 7 %v k", 90*time.Second); got != want {
		t.Errorf("options = %q, want %q", got, want)
	}
}

// FuzzParseDirective checks that parsing any comment never panics, that
// diagnostics point inside the comment, that a directive comes with
// diagnostics exactly when it is broken, and that a well-formed directive
// prints in a canonical form that parses to the same directive.
func FuzzParseDirective(f *testing.F) {
	for _, seed := range []string{
		"//signal:receiver payment_captured",
		"//signal:receiver payment.captured queue=warehouse attempts=10 timeout=30s name=shop.reserve",
		"//signal:define",
		"//signal:define payment.captured",
		"//signal:receiver x attempts=0 timeout=abc queue=B name=",
		`//signal:receiver "x" "queue=a b"`,
		"//signal:receiver `raw` timeout=1h2m3s4ms",
		"// signal:receiver x",
		"//signals:receiver x",
		"//signal: receiver",
		"//signal:",
		"//go:generate x",
		"// plain comment",
		"//signal:receiver x\u00a0queue=a",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.ContainsAny(text, "\n\r") {
			return // a comment line never holds a newline
		}
		const base = 1000
		d, diags, ours := parseComment(base, text)
		for _, dg := range diags {
			if dg.pos < base || int(dg.pos) > base+len(text) {
				t.Fatalf("parseComment(%q): diagnostic at offset %d, outside the comment: %s", text, int(dg.pos)-base, dg.msg)
			}
			if dg.msg == "" {
				t.Fatalf("parseComment(%q): empty diagnostic", text)
			}
		}
		if !ours && (d != nil || len(diags) > 0) {
			t.Fatalf("parseComment(%q): not ours, but directive %v and diagnostics %v", text, d, diags)
		}
		if d == nil {
			return
		}
		if d.broken != (len(diags) > 0) {
			t.Fatalf("parseComment(%q): directive broken=%v with diagnostics %v", text, d.broken, diags)
		}
		if d.broken {
			if d.kind != kindReceiver {
				t.Fatalf("parseComment(%q): broken %s directive; only receiver directives are kept broken", text, d.kind)
			}
			return
		}
		again, diags2, _ := parseComment(base, d.String())
		if again == nil || len(diags2) > 0 {
			t.Fatalf("parseComment(%q) = %q, which does not parse again: %v", text, d.String(), diags2)
		}
		if again.String() != d.String() || again.queue != d.queue || again.attempts != d.attempts || again.timeout != d.timeout || again.key != d.key || again.signal != d.signal {
			t.Fatalf("parseComment(%q) = %q, which parses again as %q", text, d.String(), again.String())
		}
		if d.kind == kindReceiver && !validSignalName(d.signal) {
			t.Fatalf("parseComment(%q): receiver with invalid signal name %q", text, d.signal)
		}
	})
}
