package generator

import (
	"fmt"
	"go/ast"
	"go/token"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Directive names.
const (
	kindReceiver = "receiver"
	kindDefine   = "define"
)

// receiverUsage is the receiver directive's grammar, quoted in messages.
const receiverUsage = "//signal:receiver NAME [queue=Q] [attempts=N] [timeout=D] [priority=P] [concurrency=N] [rate=N/UNIT] [burst=N] [name=KEY]"

// validOptions lists the receiver options, sorted, for messages.
const validOptions = "attempts, burst, concurrency, name, priority, queue, rate, timeout"

// minPriority and maxPriority bound priority=, as the runtime's MinPriority
// and MaxPriority (the generator does not import the runtime).
const (
	minPriority = -100
	maxPriority = 100
)

// diag is a problem found at a position; Generate turns it into a Diagnostic.
type diag struct {
	pos token.Pos
	msg string
}

func diagf(pos token.Pos, format string, args ...any) diag {
	return diag{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// option is one key=value argument of a receiver directive.
type option struct {
	key, value string
	pos        token.Pos
}

// directive is a well-formed //signal:receiver or //signal:define comment.
type directive struct {
	kind string    // kindReceiver or kindDefine
	pos  token.Pos // the "//"

	// signal is the signal name; empty for a //signal:define that names
	// none (the name then comes from the type).
	signal    string
	signalPos token.Pos

	// broken is set on a receiver directive with problems (reported):
	// its function's signature is still checked, so that every problem is
	// reported at once, but it receives nothing.
	broken bool

	// Options of a receiver, as written (validated).
	opts     []option
	queue    string
	attempts int
	timeout  time.Duration
	priority int    // 0 when not given
	key      string // name=
	// limit options; 0 when not given
	concurrency int
	rate        int
	ratePer     time.Duration
	burst       int
}

// String returns the directive in canonical form; parsing it again gives
// the same directive.
func (d *directive) String() string {
	var b strings.Builder
	b.WriteString("//signal:")
	b.WriteString(d.kind)
	if d.signal != "" {
		b.WriteString(" ")
		b.WriteString(d.signal)
	}
	for _, o := range d.opts {
		b.WriteString(" ")
		b.WriteString(o.key)
		b.WriteString("=")
		b.WriteString(o.value)
	}
	return b.String()
}

// nearMissRE matches the start of a comment (after "//") that was meant as
// a signal directive but is not one: a space after //, a space around the
// colon, upper case, or the tool spelled "signals".
var nearMissRE = regexp.MustCompile(`(?i)^\s*(signals?)\s*:\s*(receiver|define)\b`)

// parseComment parses one comment (c.Text, at pos). It returns the
// directive if the comment is a //signal: directive: well-formed, or a
// receiver directive whose problems diags report (marked broken). ours
// reports whether the comment is, or looks like, a signal directive; diags
// then say what is wrong with it.
func parseComment(pos token.Pos, text string) (d *directive, diags []diag, ours bool) {
	if !strings.HasPrefix(text, "//") {
		return nil, nil, false
	}
	text = strings.TrimRight(text, " \t\r\n")
	ad, ok := ast.ParseDirective(pos, text)
	switch {
	case ok && ad.Tool == "signal":
		switch ad.Name {
		case kindReceiver:
			d, diags = parseReceiver(ad)
		case kindDefine:
			d, diags = parseDefine(ad)
		default:
			diags = append(diags, diagf(pos, "unknown directive //signal:%s; valid directives are //signal:define and //signal:receiver", ad.Name))
		}
		return d, diags, true
	case ok && (ad.Tool == "signals" || ad.Tool == "signalgen"):
		msg := fmt.Sprintf("unknown directive //%s:%s; the directive prefix is //signal: (singular)", ad.Tool, ad.Name)
		if ad.Name == kindReceiver || ad.Name == kindDefine {
			msg += fmt.Sprintf(": write //signal:%s", ad.Name)
		}
		return nil, []diag{{pos, msg}}, true
	case ok:
		return nil, nil, false
	}
	if rest, found := strings.CutPrefix(text, "//signal:"); found {
		if strings.TrimSpace(rest) == "" {
			return nil, []diag{diagf(pos, "directive //signal: has no name; valid directives are //signal:define and //signal:receiver")}, true
		}
		name := strings.Fields(rest)[0]
		if r, _ := utf8.DecodeRuneInString(rest); unicode.IsSpace(r) {
			return nil, []diag{diagf(pos, "malformed directive %q: no space is allowed after //signal:; write //signal:%s", text, name)}, true
		}
		return nil, []diag{diagf(pos, "unknown directive //signal:%s; valid directives are //signal:define and //signal:receiver", name)}, true
	}
	if m := nearMissRE.FindStringSubmatch(text[2:]); m != nil {
		return nil, []diag{diagf(pos, "comment %q is not a directive: a directive has no spaces and is lower case; write //signal:%s", text, strings.ToLower(m[2]))}, true
	}
	return nil, nil, false
}

func parseReceiver(ad ast.Directive) (*directive, []diag) {
	d := &directive{kind: kindReceiver, pos: ad.Slash}
	args, err := ad.ParseArgs()
	if err != nil {
		d.broken = true
		return d, []diag{diagf(ad.ArgsPos, "%v", err)}
	}
	if len(args) == 0 {
		d.broken = true
		return d, []diag{diagf(ad.Slash, "//signal:receiver needs a signal name: %s", receiverUsage)}
	}
	var diags []diag
	first := args[0]
	if strings.Contains(first.Arg, "=") {
		diags = append(diags, diagf(first.Pos, "//signal:receiver needs a signal name before its options, found %s: %s", first.Arg, receiverUsage))
	} else {
		if !validSignalName(first.Arg) {
			diags = append(diags, badSignalName(first.Pos, first.Arg))
		}
		d.signal, d.signalPos = first.Arg, first.Pos
		args = args[1:]
	}
	seen := map[string]bool{}
	for _, a := range args {
		key, value, isOpt := strings.Cut(a.Arg, "=")
		if !isOpt {
			diags = append(diags, diagf(a.Pos, "unexpected argument %q after the signal name; options are key=value, one of %s", a.Arg, validOptions))
			continue
		}
		switch key {
		case "queue", "attempts", "timeout", "priority", "concurrency", "rate", "burst", "name":
		default:
			diags = append(diags, diagf(a.Pos, "unknown option %q; valid options are %s", key, validOptions))
			continue
		}
		if seen[key] {
			diags = append(diags, diagf(a.Pos, "option %s is given twice; give each option at most once", key))
			continue
		}
		seen[key] = true
		if dg, ok := d.setOption(key, value, a.Pos); !ok {
			diags = append(diags, dg)
			continue
		}
		d.opts = append(d.opts, option{key: key, value: value, pos: a.Pos})
	}
	if seen["burst"] && !seen["rate"] {
		for _, o := range d.opts {
			if o.key == "burst" {
				diags = append(diags, diagf(o.pos, "option burst=%s needs rate=: burst is the size of the rate limit's bucket, e.g. rate=100/s burst=20", o.value))
			}
		}
	}
	d.broken = len(diags) > 0
	return d, diags
}

// setOption validates one option value and stores it in d.
func (d *directive) setOption(key, value string, pos token.Pos) (diag, bool) {
	switch key {
	case "queue":
		if !validQueueName(value) {
			return diagf(pos, "option queue=%s is malformed: a queue name is one or more lower-case letters, digits, '_', '.' and '-', e.g. queue=warehouse", value), false
		}
		d.queue = value
	case "attempts":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt32 {
			return diagf(pos, "option attempts=%s is invalid: attempts must be a positive integer (at most %d), e.g. attempts=10", value, math.MaxInt32), false
		}
		d.attempts = int(n)
	case "timeout":
		t, err := time.ParseDuration(value)
		switch {
		case err != nil || t <= 0:
			return diagf(pos, "option timeout=%s is invalid: timeout must be a positive duration such as 30s, 1m30s or 500ms", value), false
		case t%time.Millisecond != 0:
			return diagf(pos, "option timeout=%s is invalid: timeout must be a whole number of milliseconds", value), false
		}
		d.timeout = t
	case "priority":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < minPriority || n > maxPriority {
			return diagf(pos, "option priority=%s is invalid: priority must be an integer from %d to %d (higher runs first; default 0), e.g. priority=10", value, minPriority, maxPriority), false
		}
		d.priority = int(n)
	case "concurrency", "burst":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt32 {
			what := "the most tasks of the receiver running at once in all workers"
			if key == "burst" {
				what = "how many tasks may start at once after a quiet spell (with rate=)"
			}
			return diagf(pos, "option %s=%s is invalid: %s must be a positive integer (%s), e.g. %s=5", key, value, key, what, key), false
		}
		if key == "burst" {
			d.burst = int(n)
		} else {
			d.concurrency = int(n)
		}
	case "rate":
		num, unit, ok := strings.Cut(value, "/")
		n, err := strconv.ParseInt(num, 10, 64)
		per, known := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
		if !ok || err != nil || n <= 0 || n > math.MaxInt32 || !known {
			return diagf(pos, "option rate=%s is invalid: rate is a positive number of task starts per s, m or h, in all workers, e.g. rate=100/s or rate=10/m", value), false
		}
		d.rate, d.ratePer = int(n), per
	case "name":
		if !validReceiverKey(value) {
			return diagf(pos, "option name=%s is malformed: a receiver key is one or more printable characters without spaces", value), false
		}
		d.key = value
	}
	return diag{}, true
}

func parseDefine(ad ast.Directive) (*directive, []diag) {
	d := &directive{kind: kindDefine, pos: ad.Slash}
	args, err := ad.ParseArgs()
	if err != nil {
		return nil, []diag{diagf(ad.ArgsPos, "%v", err)}
	}
	var diags []diag
	for i, a := range args {
		switch {
		case strings.Contains(a.Arg, "="):
			diags = append(diags, diagf(a.Pos, "//signal:define has no options, found %s; options belong to each //signal:receiver", a.Arg))
		case i > 0:
			diags = append(diags, diagf(a.Pos, "//signal:define takes at most one argument, the signal name, found %q as well", a.Arg))
		case !validSignalName(a.Arg):
			diags = append(diags, badSignalName(a.Pos, a.Arg))
		default:
			d.signal, d.signalPos = a.Arg, a.Pos
		}
	}
	if len(diags) > 0 {
		return nil, diags
	}
	return d, nil
}

func badSignalName(pos token.Pos, name string) diag {
	return diagf(pos, "signal name %q is malformed: a signal name starts with a lower-case letter and has lower-case letters and digits in parts joined by single '_' or '.', e.g. payment_captured or payment.captured", name)
}
