// Package notify limits how often a process asks PostgreSQL to NOTIFY the
// workers of a queue. PostgreSQL serializes the commits of transactions
// that notify, so a sender notifies each queue at most once per interval;
// workers that were woken keep polling briefly, which picks up the tasks
// of the sends in between.
package notify

import (
	"sync"
	"sync/atomic"
	"time"
)

// Limiter remembers, per queue, when a NOTIFY was last asked for.
type Limiter struct {
	interval atomic.Int64 // nanoseconds; read without the lock
	mu       sync.Mutex
	last     map[string]time.Time
}

// New returns a Limiter of the given interval.
func New(interval time.Duration) *Limiter {
	l := &Limiter{last: map[string]time.Time{}}
	l.SetInterval(interval)
	return l
}

// SetInterval sets the interval (0: every send notifies) and returns the
// one it replaces.
func (l *Limiter) SetInterval(d time.Duration) (previous time.Duration) {
	return time.Duration(l.interval.Swap(int64(max(d, 0))))
}

// Due returns the queues among qs (deduplicated) that are due a NOTIFY
// now, and records that they got one.
func (l *Limiter) Due(qs []string) []string {
	interval := time.Duration(l.interval.Load())
	now := time.Now()
	var out []string
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, q := range qs {
		if last, ok := l.last[q]; ok && now.Sub(last) < interval {
			continue
		}
		l.last[q] = now
		out = append(out, q)
	}
	return out
}
