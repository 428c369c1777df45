package signalrt

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// Limit bounds how a receiver's tasks start, across every worker process
// on the database: the workers claim a limited receiver's tasks in turns,
// under a row lock, and count what all of them run. Set it with the
// concurrency=, rate= and burst= options of the receiver directive (the
// generated dispatch table carries it), or with Config.Limits.
//
// Claims of limited receivers take a transaction of their own (six short
// statements) and poll while a limit holds them back, so a limit is for
// receivers that call something slow or metered (a payment provider, a mail
// server), not for the fast path; receivers without a limit are claimed as
// before, in one statement.
type Limit struct {
	// Concurrency is the most tasks of the receiver that run at once, in
	// all workers together; 0 means no limit.
	Concurrency int `json:"concurrency,omitempty"`
	// Rate is the most tasks that start per Per, on average; 0 means no
	// limit.
	Rate int `json:"rate,omitempty"`
	// Per is the period of Rate; 0 means a second.
	Per time.Duration `json:"per_ns,omitempty"`
	// Burst is how many tasks may start at once after a quiet spell (the
	// size of the token bucket); 0 means 1. Over a long run, starts are at
	// most Burst + Rate per Per.
	Burst int `json:"burst,omitempty"`
}

// String describes the limit as the directive's options would: for
// example "concurrency=5 rate=10/s burst=2"; "" for the zero Limit.
func (l Limit) String() string {
	var parts []string
	if l.Concurrency > 0 {
		parts = append(parts, fmt.Sprintf("concurrency=%d", l.Concurrency))
	}
	if l.Rate > 0 {
		unit := "/s"
		switch l.per() {
		case time.Second:
		case time.Minute:
			unit = "/m"
		case time.Hour:
			unit = "/h"
		default:
			unit = "/" + l.per().String()
		}
		parts = append(parts, fmt.Sprintf("rate=%d%s", l.Rate, unit))
		if l.Burst > 1 {
			parts = append(parts, fmt.Sprintf("burst=%d", l.Burst))
		}
	}
	return strings.Join(parts, " ")
}

// IsZero reports whether l limits nothing.
func (l Limit) IsZero() bool { return l.Concurrency <= 0 && l.Rate <= 0 }

// validate reports a Limit with a negative field.
func (l Limit) validate() error {
	if l.Concurrency < 0 || l.Rate < 0 || l.Per < 0 || l.Burst < 0 {
		return fmt.Errorf("limit %+v: its fields must not be negative", l)
	}
	return nil
}

func (l Limit) per() time.Duration {
	if l.Per <= 0 {
		return time.Second
	}
	return l.Per
}

func (l Limit) burst() int { return max(l.Burst, 1) }

// perSecond is the rate in tasks per second.
func (l Limit) perSecond() float64 { return float64(l.Rate) / l.per().Seconds() }

// limitPoll is how often a worker looks again at a receiver that its
// concurrency limit holds back: the tasks that free the limit may finish
// in other processes, which tell nobody.
const limitPoll = 50 * time.Millisecond

// limitedReceiver is a limited receiver in a queue's claim loop.
type limitedReceiver struct {
	key   string // the receiver key, or "queue:" and the queue's name
	limit Limit
	queue bool      // a queue's limit (QueueConfig.Limit): counts the queue, claims its unlimited receivers
	next  time.Time // do not claim before
	// held: its concurrency limit held tasks back at the last claim, so
	// next is limitPoll away; a result this worker records may free room
	// sooner, and clears next (see queueRunner.resultsRecorded).
	held bool
}

// resultsRecorded lets the queue's limited receivers that their concurrency
// limit held back be claimed again at once: this worker has just recorded
// results, so some of the running tasks they counted may be done. (Without
// it, a limit as high as the slots held quick tasks back for limitPoll
// after most claims: the results of the last ones were not recorded yet.)
// Called by the claim loop, which owns the limiters.
func (q *queueRunner) resultsRecorded() {
	q.eachLimiter(func(l *limitedReceiver) {
		if l.held {
			l.held, l.next = false, time.Time{}
		}
	})
}

// eachLimiter calls f for each of the queue's limited receivers and for its
// queue limit, if it has one.
func (q *queueRunner) eachLimiter(f func(*limitedReceiver)) {
	for _, l := range q.limited {
		f(l)
	}
	if q.queueLimit != nil {
		f(q.queueLimit)
	}
}

// recorded tells the claim loops of the queues that have limits that this
// worker recorded results (see resultsRecorded).
func (w *Worker) recorded() {
	w.event("recorded")
	for _, q := range w.queues {
		if len(q.limited) > 0 || q.queueLimit != nil {
			signal(q.recorded)
		}
	}
}

// claimLimited claims up to free tasks of a limited receiver (or of a
// limited queue's unlimited receivers), within its limit, and returns them with when to look again if the limit held some
// back (the zero time when it did not).
func (q *queueRunner) claimLimited(ctx context.Context, l *limitedReceiver, free int) (rows []dbsqlc.ClaimTasksRow, next time.Time, err error) {
	w := q.w
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.Lease)
	defer cancel()
	held := false
	err = pgx.BeginFunc(ctx, w.db, func(tx pgx.Tx) error {
		held = false
		b, err := queries.TakeLimit(ctx, tx, dbsqlc.TakeLimitParams{Key: l.key, Burst: float64(l.limit.burst())})
		if err != nil {
			return err
		}
		allow := free
		if l.limit.Concurrency > 0 {
			var running int32
			var err error
			if l.queue {
				running, err = queries.CountRunningInQueue(ctx, tx, q.name)
			} else {
				running, err = queries.CountRunning(ctx, tx, l.key)
			}
			if err != nil {
				return err
			}
			if room := l.limit.Concurrency - int(running); room < allow {
				allow = max(room, 0)
				next = time.Now().Add(limitPoll)
				held = true
			}
		}
		tokens := b.Tokens
		if l.limit.Rate > 0 {
			idle := max(b.Now.Sub(b.UpdatedAt).Seconds(), 0)
			tokens = math.Min(float64(l.limit.burst()), tokens+idle*l.limit.perSecond())
			if whole := int(tokens); whole < allow {
				allow = whole
				// When the next token is there.
				wait := time.Duration((1 - (tokens - float64(whole))) / l.limit.perSecond() * float64(time.Second))
				if t := time.Now().Add(wait); next.IsZero() || t.Before(next) {
					next = t
				}
			}
		}
		if allow > 0 {
			p := w.claimParams(q.name, allow, nil)
			if !l.queue {
				p.Receivers = []string{l.key}
			}
			if rows, err = queries.ClaimTasks(ctx, indexOnly{tx}, p); err != nil {
				return err
			}
		}
		if l.limit.Rate > 0 {
			return queries.SetLimitTokens(ctx, tx, dbsqlc.SetLimitTokensParams{Key: l.key, Tokens: tokens - float64(len(rows)), At: b.Now})
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claiming limited receiver %s: %w", l.key, err)
	}
	l.held = held
	return rows, next, nil
}
