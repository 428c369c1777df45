package signalrt

import (
	"testing"
	"time"
)

// TestResultsRecordedClearsConcurrencyHolds: once the worker recorded
// results, the limiters that their concurrency limit held back may be
// claimed again at once; those that wait for a rate's next token keep
// waiting.
func TestResultsRecordedClearsConcurrencyHolds(t *testing.T) {
	later := time.Now().Add(time.Hour)
	held := &limitedReceiver{key: "held", held: true, next: later}
	rate := &limitedReceiver{key: "rate", next: later}
	queue := &limitedReceiver{key: "queue:q", queue: true, held: true, next: later}
	q := &queueRunner{limited: []*limitedReceiver{held, rate}, queueLimit: queue}
	q.resultsRecorded()
	if !held.next.IsZero() || held.held {
		t.Errorf("held by its concurrency limit: next %v, held %v; want cleared", held.next, held.held)
	}
	if !queue.next.IsZero() || queue.held {
		t.Errorf("queue limit held by concurrency: next %v, held %v; want cleared", queue.next, queue.held)
	}
	if !rate.next.Equal(later) {
		t.Errorf("waiting for a token: next %v, want %v unchanged", rate.next, later)
	}
	if len(q.limited) != 2 || q.limited[0] != held || q.limited[1] != rate {
		t.Errorf("resultsRecorded changed the queue's limiters: %v", q.limited)
	}
	// A queue without a queue limit.
	q = &queueRunner{limited: []*limitedReceiver{held}}
	held.held, held.next = true, later
	q.resultsRecorded()
	if !held.next.IsZero() {
		t.Errorf("without a queue limit: next %v, want cleared", held.next)
	}
}
