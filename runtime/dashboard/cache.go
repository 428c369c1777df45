package dashboard

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// The overview counts every available and dead task of every queue: on a
// table of a million tasks, about 190 ms of the database's CPU. Each open
// overview asks again every few seconds, and operators open it when the
// system is busiest. So the queue figures are shared between requests:
// read at most once per freshFor, served stale (while one request reads
// them again in the background) for up to staleFor, and read again at
// once after an action. The pages that search or count a queue's receivers
// are limited to heavyPages at a time, so that a crowd of them cannot take
// every connection and core from the overview.
const (
	freshFor   = time.Second
	staleFor   = time.Minute
	heavyPages = 4
)

// shared is a value read from the database and shared between requests.
type shared[T any] struct {
	mu         sync.Mutex
	val        T
	at         time.Time // zero: no value
	loading    chan struct{}
	refreshing bool
}

// get returns the value: a fresh one as it is; a stale one as it is, while
// a background load replaces it; none, or one too stale, by loading it (a
// single load for concurrent callers).
func (s *shared[T]) get(ctx context.Context, load func(context.Context) (T, error), onErr func(error)) (T, error) {
	s.mu.Lock()
	age := time.Since(s.at)
	switch {
	case !s.at.IsZero() && age < freshFor:
		v := s.val
		s.mu.Unlock()
		return v, nil
	case !s.at.IsZero() && age < staleFor:
		v := s.val
		if !s.refreshing {
			s.refreshing = true
			go func() {
				bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				nv, err := load(bctx)
				s.mu.Lock()
				if err == nil {
					s.val, s.at = nv, time.Now()
				}
				s.refreshing = false
				s.mu.Unlock()
				if err != nil {
					onErr(err)
				}
			}()
		}
		s.mu.Unlock()
		return v, nil
	}
	if s.loading != nil { // another request loads it: wait for that load
		ch := s.loading
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		return s.get(ctx, load, onErr)
	}
	ch := make(chan struct{})
	s.loading = ch
	s.mu.Unlock()
	v, err := load(ctx)
	s.mu.Lock()
	if err == nil {
		s.val, s.at = v, time.Now()
	}
	s.loading = nil
	s.mu.Unlock()
	close(ch)
	return v, err
}

// forget drops the value, so that the next get reads it again.
func (s *shared[T]) forget() {
	s.mu.Lock()
	s.at = time.Time{}
	s.mu.Unlock()
}

// heavy runs f when fewer than heavyPages heavy pages are being served,
// or answers 503 when the request ends first.
func (h *Handler) heavy(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case h.heavySlots <- struct{}{}:
			defer func() { <-h.heavySlots }()
			f(w, r)
		case <-r.Context().Done():
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}
}
