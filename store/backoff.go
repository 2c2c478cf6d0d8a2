package store

import (
	"log/slog"
	"sync"
	"time"
)

// errorBackoff paces Pebble's retries of a failing flush or compaction. Pebble v2 retries a
// failed flush at once, for ever ("TODO: count consecutive flush errors and backoff" in its
// DB.flush): on a full disk a store reopening with a WAL to flush wrote, failed and logged
// every few milliseconds at full CPU and never finished opening. The listener runs on the
// retrying goroutine, so sleeping there spaces the retries: doubling from 10 ms to 5 s.
// It logs the first error of a run and then one line a minute.
type errorBackoff struct {
	l       *slog.Logger
	mu      sync.Mutex
	n       int       // errors in the current run
	last    time.Time // of the last error
	logged  time.Time // of the last line logged
	skipped int       // errors not logged since
}

// backgroundErrorPause returns the pause after the nth consecutive error.
func backgroundErrorPause(n int) time.Duration {
	if n > 10 {
		return 5 * time.Second
	}
	return min(10*time.Millisecond<<(n-1), 5*time.Second)
}

func (b *errorBackoff) backgroundError(err error) {
	b.mu.Lock()
	now := time.Now()
	if now.Sub(b.last) > 30*time.Second {
		b.n = 0 // a run ends after half a minute without errors
	}
	b.n++
	b.last = now
	n := b.n
	switch {
	case n == 1:
		b.l.Error("pebble: background error", "err", err)
		b.logged, b.skipped = now, 0
	case now.Sub(b.logged) >= time.Minute:
		b.l.Error("pebble: background error, still", "err", err, "errors", n, "retry_every", backgroundErrorPause(n), "not_logged", b.skipped)
		b.logged, b.skipped = now, 0
	default:
		b.skipped++
	}
	b.mu.Unlock()
	time.Sleep(backgroundErrorPause(n))
}
