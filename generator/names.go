package generator

import (
	"go/token"
	"go/types"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// initialisms are the words that Go spells in one case (golint's list).
// A word of an identifier or signal name that matches one, ignoring case,
// is written in upper case in exported names: orderId and order_id both
// become OrderID.
var initialisms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CPU": true, "CSS": true, "DNS": true,
	"EOF": true, "GUID": true, "HTML": true, "HTTP": true, "HTTPS": true, "ID": true,
	"IP": true, "JSON": true, "LHS": true, "QPS": true, "RAM": true, "RHS": true,
	"RPC": true, "SLA": true, "SMTP": true, "SQL": true, "SSH": true, "TCP": true,
	"TLS": true, "TTL": true, "UDP": true, "UI": true, "UID": true, "UUID": true,
	"URI": true, "URL": true, "UTF8": true, "VM": true, "XML": true, "XMPP": true,
	"XSRF": true, "XSS": true,
}

// words splits an identifier or a signal name into words: at '_' and '.',
// at a lower-to-upper change (orderID: order, ID), and before the last
// upper-case letter of a run followed by a lower-case one (HTTPServer:
// HTTP, Server). Digits stay with the word before them (line2Items: line2,
// Items).
func words(s string) []string {
	var out []string
	rs := []rune(s)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, string(rs[start:end]))
		}
		start = -1
	}
	for i, r := range rs {
		if r == '_' || r == '.' || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush(i)
			start = i
		case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return out
}

// exportedName returns the exported CamelCase form of s, with Go
// initialisms in upper case: orderID, orderId and order_id become OrderID;
// payment.captured becomes PaymentCaptured.
func exportedName(s string) string {
	var b strings.Builder
	for _, w := range words(s) {
		if up := strings.ToUpper(w); initialisms[up] {
			b.WriteString(up)
			continue
		}
		r, n := utf8.DecodeRuneInString(w)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(strings.ToLower(w[n:]))
	}
	return b.String()
}

// unexportedName returns the lowerCamelCase form of s: the first word in
// lower case, the others as in exportedName (HTTPClient: httpClient,
// PaymentCaptured: paymentCaptured).
func unexportedName(s string) string {
	ws := words(s)
	if len(ws) == 0 {
		return ""
	}
	return strings.ToLower(ws[0]) + exportedName(strings.Join(ws[1:], "_"))
}

// snakeName returns the snake_case form of s: its words in lower case,
// joined by '_' (orderID: order_id, HTTPServer: http_server).
func snakeName(s string) string {
	ws := words(s)
	for i, w := range ws {
		ws[i] = strings.ToLower(w)
	}
	return strings.Join(ws, "_")
}

// validSignalName reports whether s is a well-formed signal name: a lower-case
// letter, then lower-case letters and digits, in parts joined by single '_'
// or '.' (payment_captured, payment.captured, order.v2.shipped).
func validSignalName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	prevSep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			prevSep = false
		case c == '_' || c == '.':
			if prevSep {
				return false
			}
			prevSep = true
		default:
			return false
		}
	}
	return !prevSep
}

// validQueueName reports whether s is a well-formed queue name: lower-case
// letters, digits, '_', '.' and '-'.
func validQueueName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validReceiverKey reports whether s can be a receiver key: printable, with
// no spaces.
func validReceiverKey(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// validPackageName reports whether s can name a Go package.
func validPackageName(s string) bool {
	if !token.IsIdentifier(s) || s == "_" {
		return false
	}
	return types.Universe.Lookup(s) == nil
}

// uniqueName returns base, or base followed by the smallest number from 2
// that taken does not hold, and records the result in taken.
func uniqueName(base string, taken map[string]bool) string {
	name := base
	for i := 2; taken[name] || token.IsKeyword(name); i++ {
		name = base + strconv.Itoa(i)
	}
	taken[name] = true
	return name
}

// editDistance is the optimal string alignment distance between a and b:
// the fewest insertions, deletions and substitutions of one character, and
// transpositions of two adjacent ones, that turn a into b.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	// d[i][j] is the distance between x[:i] and y[:j].
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

// maxNearMiss is the largest edit distance at which a signal name is taken
// for a misspelling of another.
const maxNearMiss = 2

// nearMiss reports whether signal name a is so close to the different
// signal name b that it is probably a misspelling of it, and their edit
// distance: at most maxNearMiss edits, and at most one edit per three
// characters of the shorter name (so that short names, which are all close
// to each other, are never taken for misspellings). Names that differ only
// in their digits (order.v1.shipped and order.v2.shipped) are versions of a
// signal, not misspellings.
func nearMiss(a, b string) (int, bool) {
	if a == b || stripDigits(a) == stripDigits(b) {
		return 0, false
	}
	n := editDistance(a, b)
	shorter := min(len([]rune(a)), len([]rune(b)))
	return n, n <= maxNearMiss && 3*n <= shorter
}

// stripDigits returns s without its decimal digits.
func stripDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return -1
		}
		return r
	}, s)
}
