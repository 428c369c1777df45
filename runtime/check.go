package signalrt

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// DefaultCheckLimit is the number of payloads [CheckTasks] decodes when no
// limit is given: beyond it, the check is a sample (the oldest tasks, which
// are the ones most likely to carry an old payload shape).
const DefaultCheckLimit = 100_000

// checkPage is the number of payloads read per round trip.
const checkPage = 1000

// CheckReport is the result of [CheckTasks]: which tasks that may still
// run would fail with this binary's dispatch table, and why.
type CheckReport struct {
	// Tasks is the number of available, running and dead tasks.
	Tasks int64
	// Decoded is the number of payloads decoded; less than the tasks of
	// known receivers when Sampled.
	Decoded int64
	// Sampled reports that the limit was reached: only the Decoded oldest
	// payloads were checked, and more tasks may fail to decode.
	Sampled bool
	// Unchecked lists the keys of receivers without a Decode function,
	// whose payloads were not checked.
	Unchecked []string
	// Failures are the groups of tasks that would fail, by signal,
	// receiver and reason.
	Failures []CheckFailure
}

// CheckFailure is a group of tasks of one signal and receiver that would
// fail for the same reason.
type CheckFailure struct {
	Signal, Receiver string
	// Reason says why: the receiver key is not in the table, the receiver
	// listens to another signal, or the payload does not decode (with the
	// error).
	Reason string
	// StateCounts counts the tasks by state.
	StateCounts
	// Example is the id of one such task, for signalctl show; 0 when the
	// failure was found from counts alone.
	Example int64
}

// Failed is the number of tasks that would fail.
func (r CheckReport) Failed() int64 {
	var n int64
	for _, f := range r.Failures {
		n += f.Available + f.Running + f.Dead
	}
	return n
}

// Write prints the report, one line per failure.
func (r CheckReport) Write(w io.Writer) error {
	what := fmt.Sprintf("%d queued tasks (available, running or dead), %d payloads decoded", r.Tasks, r.Decoded)
	if r.Sampled {
		what += " (a sample: the oldest ones; raise the limit to check all)"
	}
	if _, err := fmt.Fprintf(w, "checked %s\n", what); err != nil {
		return err
	}
	for _, k := range r.Unchecked {
		if _, err := fmt.Fprintf(w, "not checked: receiver %s has no Decode function\n", k); err != nil {
			return err
		}
	}
	for _, f := range r.Failures {
		example := ""
		if f.Example != 0 {
			example = fmt.Sprintf(" (e.g. task %d)", f.Example)
		}
		if _, err := fmt.Fprintf(w, "would fail: signal %s, receiver %s: %d available, %d running, %d dead: %s%s\n",
			f.Signal, f.Receiver, f.Available, f.Running, f.Dead, f.Reason, example); err != nil {
			return err
		}
	}
	if len(r.Failures) == 0 {
		_, err := fmt.Fprintln(w, "no task would fail")
		return err
	}
	_, err := fmt.Fprintf(w, "%d tasks would fail\n", r.Failed())
	return err
}

// CheckTasks checks every available, running and dead task of the task
// table against table, without running anything (the tasks of sends made
// in [BeginFunc] that no worker has fanned out yet count as available
// tasks, and are checked after the others): a task whose receiver key
// is not in the table, whose receiver listens to another signal, or whose
// payload does not decode with the receiver's Decode function would fail
// (dead tasks: would fail again when retried). It is the pre-deploy gate of
// a new worker binary: run it from that binary, against the production
// queue, and refuse the deploy when [CheckReport.Failed] is not 0.
//
// The table may be built with nil instances for its method receivers: the
// check never calls Handle. Unknown receivers are counted exactly; at most
// limit payloads are decoded, the oldest first, in pages (limit <= 0 means
// [DefaultCheckLimit]), and the report says when that was a sample.
func CheckTasks(ctx context.Context, db Executor, table Table, limit int) (CheckReport, error) {
	if limit <= 0 {
		limit = DefaultCheckLimit
	}
	byKey := make(map[string]Receiver, len(table))
	for _, r := range table {
		byKey[r.Key] = r
	}
	var rep CheckReport
	counts, err := queries.CheckCountTasks(ctx, planned(db))
	if err != nil {
		return rep, fmt.Errorf("counting queued tasks: %w", err)
	}
	groups := map[[3]string]*CheckFailure{}
	fail := func(signal, receiver, reason string) *CheckFailure {
		k := [3]string{signal, receiver, reason}
		f := groups[k]
		if f == nil {
			f = &CheckFailure{Signal: signal, Receiver: receiver, Reason: reason}
			groups[k] = f
		}
		return f
	}
	var decodable []string
	seen := map[string]bool{}
	unchecked := map[string]bool{}
	for _, c := range counts {
		rep.Tasks += c.N
		r, ok := byKey[c.Receiver]
		var f *CheckFailure
		switch {
		case !ok:
			f = fail(c.Signal, c.Receiver, "unknown receiver: the key is not in this binary's dispatch table")
		case r.Signal != c.Signal:
			f = fail(c.Signal, c.Receiver, fmt.Sprintf("the receiver listens to signal %s in this binary", r.Signal))
		case r.Decode == nil:
			unchecked[c.Receiver] = true
		case !seen[c.Receiver]:
			seen[c.Receiver] = true
			decodable = append(decodable, c.Receiver)
		}
		if f != nil {
			f.add(TaskState(c.State), c.N)
		}
	}
	rep.Unchecked = sortedSet(unchecked)
	sort.Strings(decodable)
	var after int64
	for len(decodable) > 0 && rep.Decoded < int64(limit) {
		rows, err := queries.CheckPayloads(ctx, planned(db), dbsqlc.CheckPayloadsParams{
			AfterID: after, Receivers: decodable, Max: int32(min(checkPage, int64(limit)-rep.Decoded)),
		})
		if err != nil {
			return rep, fmt.Errorf("reading queued payloads: %w", err)
		}
		for _, t := range rows {
			rep.Decoded++
			after = t.ID
			r := byKey[t.Receiver]
			if r.Signal != t.Signal {
				continue // counted above
			}
			if err := r.Decode(t.Payload); err != nil {
				f := fail(t.Signal, t.Receiver, err.Error())
				f.add(TaskState(t.State), 1)
				if f.Example == 0 {
					f.Example = t.ID
				}
			}
		}
		if len(rows) < checkPage && rep.Decoded < int64(limit) {
			break
		}
		if rep.Decoded >= int64(limit) && len(rows) > 0 {
			// More may follow: look once more whether they exist.
			more, err := queries.CheckPayloads(ctx, planned(db), dbsqlc.CheckPayloadsParams{AfterID: after, Receivers: decodable, Max: 1})
			if err != nil {
				return rep, fmt.Errorf("reading queued payloads: %w", err)
			}
			rep.Sampled = len(more) > 0
		}
	}
	if err := checkSends(ctx, db, byKey, decodable, int64(limit), &rep, fail); err != nil {
		return rep, err
	}
	for _, f := range groups {
		rep.Failures = append(rep.Failures, *f)
	}
	sort.Slice(rep.Failures, func(i, j int) bool {
		a, b := rep.Failures[i], rep.Failures[j]
		if a.Signal != b.Signal {
			return a.Signal < b.Signal
		}
		if a.Receiver != b.Receiver {
			return a.Receiver < b.Receiver
		}
		return a.Reason < b.Reason
	})
	return rep, nil
}

// checkSends decodes the payloads of the sends made in BeginFunc that no
// worker has fanned out yet, as available tasks of their receivers, within
// what is left of the limit after the tasks.
func checkSends(ctx context.Context, db Executor, byKey map[string]Receiver, decodable []string, limit int64, rep *CheckReport, fail func(signal, receiver, reason string) *CheckFailure) error {
	if len(decodable) == 0 {
		return nil
	}
	check := make(map[string]bool, len(decodable))
	for _, k := range decodable {
		check[k] = true
	}
	var after int64
	for {
		rows, err := queries.CheckSendPayloads(ctx, planned(db), dbsqlc.CheckSendPayloadsParams{AfterID: after, Max: int32(checkPage)})
		if err != nil {
			return fmt.Errorf("reading the payloads of sends not fanned out yet: %w", err)
		}
		sends := 0
		for _, s := range rows {
			if s.ID != after {
				sends++
				after = s.ID
			}
			r := byKey[s.Receiver]
			if !check[s.Receiver] || r.Signal != s.Signal {
				continue // counted by CheckCountTasks
			}
			if rep.Decoded >= limit {
				rep.Sampled = true
				return nil
			}
			rep.Decoded++
			if err := r.Decode(s.Payload); err != nil {
				fail(s.Signal, s.Receiver, err.Error()).add(StateAvailable, 1)
			}
		}
		if sends < checkPage {
			return nil
		}
	}
}

func sortedSet(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
