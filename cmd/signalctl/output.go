package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// clean makes text from the database safe to print on a terminal: control
// characters (escape sequences, carriage returns, tabs that would shift a
// table) and invalid UTF-8 are shown escaped, as Go writes them in quoted
// strings; newlines too, unless keepNewlines is set for multi-line text.
func clean(s string) string { return cleanText(s, false) }

func cleanText(s string, keepNewlines bool) string {
	ok := true
	for i, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) && !(keepNewlines && r == '\n') || r == '\u2028' || r == '\u2029' {
			_ = i
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case keepNewlines && r == '\n':
			b.WriteByte('\n')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table returns a writer for an aligned table; call Flush. Cells must be
// cleaned.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// firstLine returns s's first line, cut to n runes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// known are the queue and receiver names the database knows of: queues
// with tasks or a pause, or run by a registered worker, or of a receiver
// that a worker ran; receiver keys that a worker ran or has in its table.
type known struct {
	queues, receivers []string
}

func loadKnown(ctx context.Context, db signalrt.Executor) (known, error) {
	var k known
	qs, err := signalrt.QueueOverview(ctx, db)
	if err != nil {
		return k, err
	}
	for _, q := range qs {
		k.queues = append(k.queues, q.Queue)
	}
	rs, err := signalrt.KnownReceivers(ctx, db)
	if err != nil {
		return k, err
	}
	for _, r := range rs {
		k.queues = append(k.queues, r.Queue)
		k.receivers = append(k.receivers, r.Key)
	}
	ws, err := signalrt.Workers(ctx, db)
	if err != nil {
		return k, err
	}
	for _, w := range ws {
		k.queues = append(k.queues, w.Queues...)
		for key, r := range w.Receivers {
			k.receivers = append(k.receivers, key)
			k.queues = append(k.queues, r.Queue)
		}
	}
	slices.Sort(k.queues)
	slices.Sort(k.receivers)
	k.queues, k.receivers = slices.Compact(k.queues), slices.Compact(k.receivers)
	return k, nil
}

// resolveReceiver returns the receiver key that r names: r itself when it
// is a known key, else the one known key that ends with "."+r or "/"+r.
// Several such keys are an error that lists them; none leaves r as it is.
func (k known) resolveReceiver(r string) (string, error) {
	if r == "" || slices.Contains(k.receivers, r) {
		return r, nil
	}
	var matches []string
	for _, key := range k.receivers {
		if strings.HasSuffix(key, "."+r) || strings.HasSuffix(key, "/"+r) {
			matches = append(matches, key)
		}
	}
	switch len(matches) {
	case 0:
		return r, nil
	case 1:
		return matches[0], nil
	}
	return "", usageError("-receiver %q matches %d receivers: %s; give more of the key", r, len(matches), strings.Join(matches, ", "))
}

// unknownNames says which of the query's queue and receiver no one knows,
// with the known ones; "" when both are known or unset.
func (k known) unknownNames(q signalrt.TaskQuery) string {
	var parts []string
	if q.Queue != "" && !slices.Contains(k.queues, q.Queue) {
		parts = append(parts, fmt.Sprintf("no queue %q is known; known queues: %s", q.Queue, listOrNone(k.queues)))
	}
	if q.Receiver != "" && !slices.Contains(k.receivers, q.Receiver) {
		parts = append(parts, fmt.Sprintf("no receiver %q is known; known receivers: %s", q.Receiver, listOrNone(k.receivers)))
	}
	return clean(strings.Join(parts, "; "))
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// resolve resolves the query's receiver (see resolveReceiver) and returns
// what the database knows, for unknownNames.
func resolve(ctx context.Context, e *env, o *options) (known, error) {
	if o.q.Queue == "" && o.q.Receiver == "" {
		return known{}, nil
	}
	k, err := loadKnown(ctx, e.db)
	if err != nil {
		return k, err
	}
	key, err := k.resolveReceiver(o.q.Receiver)
	if err != nil {
		return k, err
	}
	if key != o.q.Receiver {
		fmt.Fprintf(e.stderr, "signalctl: -receiver %s: %s\n", clean(o.q.Receiver), clean(key))
		o.q.Receiver = key
	}
	return k, nil
}
