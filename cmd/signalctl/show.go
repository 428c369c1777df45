package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// Bounds of show's payload: an indented payload grows with its nesting
// (a 10 KB payload of 5,000 nested arrays indents to 50 MB), so show prints
// at most maxPayloadLines lines of at most maxPayloadWidth runes, and says
// how to get the rest (-raw, -json).
const (
	maxPayloadLines = 200
	maxPayloadWidth = 200
	maxPayloadBytes = 64 << 10 // above this, the payload is not indented
	maxPayloadDepth = 32       // nor above this nesting
)

func show(ctx context.Context, e *env, o *options, args []string) error {
	ids, _ := parseIDs(args)
	t, err := signalrt.GetTask(ctx, e.db, ids[0])
	if errors.Is(err, signalrt.ErrTaskNotFound) {
		return fmt.Errorf("no task %d: it never existed, or it was deleted (succeeded tasks are deleted as they succeed unless the workers' Config.Retention keeps them; cancel and discard delete too)", ids[0])
	}
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(e.stdout, t)
	}
	if o.raw {
		_, err := e.stdout.Write(append(t.Payload, '\n'))
		return err
	}
	tw := table(e.stdout)
	fmt.Fprintf(tw, "id\t%d\nsignal\t%s\nreceiver\t%s\nqueue\t%s\nstate\t%s\nattempt\t%d of %d\npriority\t%d\nrun at\t%s\ncreated\t%s\n",
		t.ID, clean(t.Signal), clean(t.Receiver), clean(t.Queue), t.State, t.Attempt, t.MaxAttempts, t.Priority,
		t.RunAt.Format(time.RFC3339Nano), t.CreatedAt.Format(time.RFC3339Nano))
	if t.FinishedAt != nil {
		fmt.Fprintf(tw, "finished\t%s\n", t.FinishedAt.Format(time.RFC3339Nano))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\npayload (%s, reformatted: keys sorted, duplicates dropped; -raw prints it as stored):\n%s\n",
		plural(int64(len(t.Payload)), "byte", "bytes"), boundedPayload(t.Payload))
	if t.Damaged != "" {
		fmt.Fprintf(e.stdout, "\ndamaged: %s\n", clean(t.Damaged))
	}
	if len(t.Errors) == 0 {
		fmt.Fprintln(e.stdout, "\nno failed attempts")
		return nil
	}
	fmt.Fprintf(e.stdout, "\nfailed attempts (%d):\n", len(t.Errors))
	for _, a := range t.Errors {
		fmt.Fprintf(e.stdout, "\nattempt %d at %s on %s:\n%s\n", a.Attempt, a.At.Format(time.RFC3339Nano), clean(a.Worker), cleanText(a.Error, true))
	}
	return nil
}

// boundedPayload returns the payload indented for reading, cut to
// maxPayloadLines lines of maxPayloadWidth runes, with what was cut.
func boundedPayload(p []byte) string {
	text := string(p)
	if len(p) <= maxPayloadBytes && jsonDepth(p) <= maxPayloadDepth {
		text = signalrt.PrettyPayload(p)
	}
	var out []byte
	lines, cut := 0, false
	for len(text) > 0 && lines < maxPayloadLines {
		line, rest, _ := cutLine(text)
		if r := []rune(line); len(r) > maxPayloadWidth {
			line, cut = string(r[:maxPayloadWidth])+"…", true
		}
		out = append(out, cleanText(line, false)...)
		out = append(out, '\n')
		text, lines = rest, lines+1
	}
	if len(text) > 0 || cut {
		out = append(out, "… (cut: signalctl show -raw prints it whole)\n"...)
	}
	return string(out[:len(out)-1])
}

func cutLine(s string) (line, rest string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// jsonDepth returns the deepest nesting of arrays and objects in p.
func jsonDepth(p []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range p {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}
