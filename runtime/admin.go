package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// Task states, as stored in signal_task.state.
const (
	StateAvailable = "available" // waiting to run: new, or a retry after backoff
	StateRunning   = "running"   // claimed by a worker under a lease
	StateSucceeded = "succeeded" // the receiver returned nil
	StateDead      = "dead"      // out of attempts, permanent error, unknown receiver or bad payload
)

// Task is a task row, for inspection.
type Task struct {
	ID          int64
	Signal      string
	Receiver    string
	Queue       string
	State       string
	Payload     json.RawMessage
	Attempt     int
	MaxAttempts int
	// Priority orders the queue's claims: higher first (see Priority).
	Priority   int
	RunAt      time.Time
	Errors     []AttemptError
	CreatedAt  time.Time
	FinishedAt *time.Time
}

// AttemptError is one failed attempt in a task's error history.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
	Worker  string    `json:"worker"`
}

// GetTask returns the task with the given id.
func GetTask(ctx context.Context, db Executor, id int64) (Task, error) {
	r, err := queries.GetTask(ctx, planned(db), id)
	if err != nil {
		return Task{}, fmt.Errorf("task %d: %w", id, err)
	}
	return toTask(dbsqlc.ListTasksRow(r))
}

// TaskFilter selects tasks for [ListTasks]. Empty fields match everything.
type TaskFilter struct {
	State    string
	Signal   string
	Receiver string
	// AfterID pages: only tasks with a larger id are listed.
	AfterID int64
	// Limit is the most tasks returned (default 100).
	Limit int
}

// ListTasks returns the tasks that match f, in id order.
func ListTasks(ctx context.Context, db Executor, f TaskFilter) ([]Task, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := queries.ListTasks(ctx, planned(db), dbsqlc.ListTasksParams{
		State: nonEmpty(f.State), Signal: nonEmpty(f.Signal), Receiver: nonEmpty(f.Receiver),
		AfterID: f.AfterID, Max: int32(f.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	tasks := make([]Task, 0, len(rows))
	for _, r := range rows {
		t, err := toTask(r)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toTask(r dbsqlc.ListTasksRow) (Task, error) {
	t := Task{
		ID: r.ID, Signal: r.Signal, Receiver: r.Receiver, Queue: r.Queue, State: r.State,
		Payload: r.Payload, Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts),
		Priority: int(r.Priority), RunAt: r.RunAt, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt,
	}
	if err := json.Unmarshal(r.Errors, &t.Errors); err != nil {
		return Task{}, fmt.Errorf("task %d: error history: %w", r.ID, err)
	}
	return t, nil
}

// Count is the number of tasks in one queue and state.
type Count struct {
	Queue string
	State string
	N     int64
}

// CountTasks returns the number of tasks per queue and state.
func CountTasks(ctx context.Context, db Executor) ([]Count, error) {
	rows, err := queries.CountTasks(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("counting tasks: %w", err)
	}
	out := make([]Count, len(rows))
	for i, r := range rows {
		out[i] = Count(r)
	}
	return out, nil
}

// Retry makes the given dead (or waiting) tasks available now, with a fresh
// set of attempts, and wakes the workers of their queues; their error
// history is kept. Use it after deploying a fix for a receiver, or a binary
// that knows a receiver key. It returns how many tasks it changed; running
// and succeeded tasks are left alone. A dead task sent with a unique key
// ([Unique]) is left dead while another task of its receiver and key is
// pending or a newer one is dead, so that the key keeps one pending task.
func Retry(ctx context.Context, db Executor, ids ...int64) (int64, error) {
	rows, err := queries.RetryTasks(ctx, planned(db), ids)
	if err != nil {
		return 0, fmt.Errorf("retrying tasks: %w", err)
	}
	return int64(len(rows)), nil
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
