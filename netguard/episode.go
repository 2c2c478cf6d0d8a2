package netguard

import (
	"log/slog"
	"time"
)

// RefusalQuiet is how long without a refusal ends a run of them.
const RefusalQuiet = 10 * time.Second

// Refusals is the run of connections a listener refuses, logged once when it starts (by
// the caller, who knows why) and once when it ends, instead of once per connection. Its
// methods need the caller's lock. The zero Refusals logs to nowhere.
type Refusals struct {
	// Listener names the listener in the log line; Log receives it.
	Listener string
	Log      *slog.Logger

	refused     int
	start, last time.Time
}

// Refuse counts a refusal at now and reports whether it starts a run, ending (and
// logging) a run quiet for RefusalQuiet first.
func (r *Refusals) Refuse(now time.Time) (start bool) {
	start = r.refused == 0 || now.Sub(r.last) >= RefusalQuiet
	if start {
		r.End(now)
		r.start = now
	}
	r.refused++
	r.last = now
	return start
}

// End logs the end of the run if it has been quiet for RefusalQuiet at now; a connection
// admitted calls it, so a run ends in the log without waiting for the next refusal.
func (r *Refusals) End(now time.Time) {
	if r.refused == 0 || now.Sub(r.last) < RefusalQuiet {
		return
	}
	if r.Log != nil {
		r.Log.Info("connection refusals ended", "listener", r.Listener, "refused", r.refused,
			"seconds", r.last.Sub(r.start).Seconds())
	}
	r.refused = 0
}
