package store

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestErrorBackoff: Pebble retries a failed flush at once, for ever; on a full disk that
// was a write, a failure and an ERROR line every few milliseconds. The listener spaces
// the retries and logs the first error of a run only.
func TestErrorBackoff(t *testing.T) {
	var logs strings.Builder
	b := &errorBackoff{l: slog.New(slog.NewTextHandler(&logs, nil))}
	enospc := errors.New("write 000012.sst: no space left on device")
	start := time.Now()
	for range 5 {
		b.backgroundError(enospc)
	}
	// 10 + 20 + 40 + 80 + 160 ms.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("5 errors returned in %v: the retries are not spaced", d)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d lines for 5 errors in a run, want 1:\n%s", n, logs.String())
	}
	for n, want := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 9: 2560 * time.Millisecond, 10: 5 * time.Second, 1000: 5 * time.Second} {
		if got := backgroundErrorPause(n); got != want {
			t.Errorf("pause after %d errors = %v, want %v", n, got, want)
		}
	}
}
