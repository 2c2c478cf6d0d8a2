package netguard

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRefusals: a run starts at its first refusal and at the first after RefusalQuiet
// without one; its end is logged once, by End or by the refusal that starts the next.
func TestRefusals(t *testing.T) {
	var logs bytes.Buffer
	r := Refusals{Listener: "test", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		at     time.Duration
		refuse bool // else End
		start  bool
		ended  int // "refusals ended" lines so far
	}{
		{0, true, true, 0},
		{time.Second, true, false, 0},
		{5 * time.Second, false, false, 0},
		{9 * time.Second, true, false, 0},
		{19 * time.Second, false, false, 1},
		{20 * time.Second, true, true, 1},
		{40 * time.Second, true, true, 2},
		{40 * time.Second, false, false, 2},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		if s.refuse {
			if got := r.Refuse(now); got != s.start {
				t.Errorf("%v: Refuse = %v, want %v", s.at, got, s.start)
			}
		} else {
			r.End(now)
		}
		if n := strings.Count(logs.String(), "connection refusals ended"); n != s.ended {
			t.Fatalf("%v: %d end lines, want %d:\n%s", s.at, n, s.ended, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "listener=test refused=3 seconds=9") {
		t.Errorf("first run's line: %s", logs.String())
	}
	var zero Refusals
	zero.Refuse(t0)
	zero.End(t0.Add(time.Minute)) // logs to nowhere
}
