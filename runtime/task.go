package signalrt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// TaskState is the state of a task, as stored in signal_task.state.
type TaskState string

// The task states.
const (
	StateAvailable TaskState = "available" // waiting to run: new, delayed, or a retry after backoff
	StateRunning   TaskState = "running"   // claimed by a worker under a lease
	StateSucceeded TaskState = "succeeded" // the receiver returned nil (kept only with Config.Retention)
	StateDead      TaskState = "dead"      // out of attempts, permanent error, unknown receiver or bad payload
)

// States lists the task states, in their lifecycle order.
var States = []TaskState{StateAvailable, StateRunning, StateSucceeded, StateDead}

// Valid reports whether s is one of [States].
func (s TaskState) Valid() bool {
	for _, st := range States {
		if s == st {
			return true
		}
	}
	return false
}

// statesText lists states for error messages: "available, running".
func statesText(states []TaskState) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// Task is a task row, for inspection. [GetTask] fills every field;
// [SearchTasks], whose listings show neither, leaves Payload and Errors
// empty.
type Task struct {
	ID          int64     `json:"id"`
	Signal      string    `json:"signal"`
	Receiver    string    `json:"receiver"`
	Queue       string    `json:"queue"`
	State       TaskState `json:"state"`
	Attempt     int       `json:"attempt"`
	MaxAttempts int       `json:"max_attempts"`
	// Priority orders the queue's claims: higher first (see Priority).
	Priority   int        `json:"priority"`
	RunAt      time.Time  `json:"run_at"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Payload is the JSON the sender wrote, byte for byte.
	Payload json.RawMessage `json:"payload,omitempty"`
	// Errors is the error history: one entry per failed attempt.
	Errors []AttemptError `json:"errors,omitempty"`
	// LastError is the error of the last failed attempt; "" when none, and
	// when the task succeeded since.
	LastError string `json:"last_error,omitempty"`
	// ErrorCount is how many failed attempts the history records.
	ErrorCount int `json:"error_count"`
	// Damaged says what is wrong with a row whose error history is not a
	// list of attempts (written by something other than the runtime); ""
	// for a sound row. The rest of a damaged task is shown as usual.
	Damaged string `json:"damaged,omitempty"`
}

// AttemptError is one failed attempt in a task's error history.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
	Worker  string    `json:"worker"`
}

// damagedHistory is Task.Damaged for an error history that is not a list
// of attempts.
const damagedHistory = "its error history is not a list of attempts"

// GetTask returns the task with the given id, or an error that wraps
// [ErrTaskNotFound] when there is none (succeeded tasks are deleted at once
// unless Config.Retention keeps them).
func GetTask(ctx context.Context, db Executor, id int64) (Task, error) {
	r, err := queries.GetTask(ctx, planned(db), id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Task{}, fmt.Errorf("task %d: %w", id, ErrTaskNotFound)
	}
	if err != nil {
		return Task{}, fmt.Errorf("task %d: %w", id, migrateHint(err))
	}
	t := Task{
		ID: r.ID, Signal: r.Signal, Receiver: r.Receiver, Queue: r.Queue, State: TaskState(r.State),
		Payload: r.Payload, Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts),
		Priority: int(r.Priority), RunAt: r.RunAt, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt,
	}
	if err := json.Unmarshal(r.Errors, &t.Errors); err != nil {
		t.Errors, t.Damaged = nil, damagedHistory+": "+err.Error()
	}
	t.ErrorCount = len(t.Errors)
	if n := len(t.Errors); n > 0 && t.State != StateSucceeded {
		t.LastError = t.Errors[n-1].Error
	}
	return t, nil
}

// PrettyPayload returns a payload indented for people to read, with the
// escapes that encoding/json writes for <, > and & undone, so that text
// shows as it was sent. A payload that is not JSON comes back as it is.
func PrettyPayload(p json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber() // keep numbers as they were written
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(p)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return string(p)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// PayloadPreview returns a payload for people to read, bounded: indented
// as PrettyPayload does (keys sorted, duplicate keys dropped) unless it is
// over 64 KiB or nested over 32 deep, then cut to maxLines lines of
// maxWidth characters each, with control characters escaped. It reports
// whether it cut anything. An indented payload grows with its nesting (a
// 10 KB payload of 5,000 nested arrays indents to 50 MB), so a page or a
// terminal shows this, and offers the payload as stored besides.
func PayloadPreview(p json.RawMessage, maxLines, maxWidth int) (text string, cut bool) {
	src := string(p)
	if len(p) <= 64<<10 && jsonDepth(p) <= 32 {
		src = PrettyPayload(p)
	}
	var b strings.Builder
	for lines := 0; len(src) > 0; lines++ {
		if lines == maxLines {
			return b.String(), true
		}
		line, rest, _ := strings.Cut(src, "\n")
		if r := []rune(line); len(r) > maxWidth {
			line, cut = string(r[:maxWidth])+"…", true
		}
		if lines > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(escapeControls(line))
		src = rest
	}
	return b.String(), cut
}

// escapeControls shows control characters and invalid UTF-8 as Go escapes.
func escapeControls(s string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case unicode.IsControl(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
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
