package vrpfeed

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ipledger/ipledger/vrp"
)

// watchedFile is a file re-read when its identity, size or modification time changes.
// One that cannot be opened is tried again with a growing delay.
type watchedFile struct {
	path    string
	info    os.FileInfo
	invalid error // why the file as it is now (info) does not parse; nil if it does

	next    time.Time     // no attempt before this, while failing
	delay   time.Duration // the current retry delay; 0 when the last attempt worked
	failing error         // why the last attempt failed; nil when it worked
	since   time.Time     // when failing began
	tries   int           // attempts since failing began
}

// changed reports whether the file differs from when last read, with its new metadata.
func (w *watchedFile) changed() (bool, os.FileInfo, error) {
	fi, err := os.Stat(w.path)
	if err != nil {
		return false, nil, err
	}
	if w.info != nil && os.SameFile(w.info, fi) && fi.Size() == w.info.Size() && fi.ModTime().Equal(w.info.ModTime()) {
		return false, fi, nil
	}
	return true, fi, nil
}

// invalidFile is a file that reads but does not parse: it is looked at again at every poll
// (a stat), not after a backoff, so that its fix is taken at once.
type invalidFile struct{ err error }

func (e *invalidFile) Error() string { return e.err.Error() }
func (e *invalidFile) Unwrap() error { return e.err }

// due reports whether the file may be looked at now: always, unless a failure put the
// next attempt off.
func (w *watchedFile) due(now time.Time) bool { return w.failing == nil || !now.Before(w.next) }

// failed records a failed attempt and, unless the file is merely invalid, puts the next
// one off: min, then twice the last delay, up to max. It reports whether this failure
// begins an episode (the file worked before, or the error is another one) and so deserves
// a log line.
func (w *watchedFile) failed(err error, now time.Time, min, max time.Duration) bool {
	if _, invalid := errors.AsType[*invalidFile](err); invalid {
		w.delay = 0
	} else {
		w.delay = clampDuration(2*w.delay, min, max)
	}
	w.next = now.Add(w.delay)
	w.tries++
	first := w.failing == nil || w.failing.Error() != err.Error()
	if w.failing == nil {
		w.since, w.tries = now, 1
	}
	w.failing = err
	return first
}

// recovered records a working attempt; it returns how long the file had been failing and
// after how many attempts, or 0 if it had not.
func (w *watchedFile) recovered(now time.Time) (time.Duration, int) {
	if w.failing == nil {
		return 0, 0
	}
	d, n := now.Sub(w.since), w.tries
	w.failing, w.delay, w.tries = nil, 0, 0
	return d, n
}

func clampDuration(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// loadVRPs reads --vrps-file if it changed since the last read.
func (f *Feed) loadVRPs() (bool, error) {
	start := time.Now()
	j, err := readWatched(f, &f.vrps, "vrps", "--vrps-file", func(r io.Reader) (*vrp.JSONFile, error) { return vrp.ReadJSON(r, time.Now()) })
	if j == nil {
		return false, err
	}
	f.fileSet = j.Set
	f.fileInfo = fileInfo{read: start, buildTime: j.BuildTime, expired: j.Expired}
	f.m.file.Set(float64(j.Set.Len()))
	f.log.Info("vrps file read", "path", f.vrps.path, "vrps", j.Set.Len(), "router_keys", j.Set.KeyLen(), "aspas", j.Set.ASPALen(),
		"roas", j.ROAs, "expired", j.Expired, "buildtime", j.BuildTime, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// readWatched reads w's file with read if it changed since the last read, counting the
// load in f's metrics under name; flag names the file in errors. It returns nil when the
// file is unchanged (and the error that made it invalid, if it did) or cannot be read.
func readWatched[T any](f *Feed, w *watchedFile, name, flag string, read func(io.Reader) (*T, error)) (*T, error) {
	ch, fi, err := w.changed()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if !ch {
		return nil, w.invalid
	}
	r, err := os.Open(w.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer r.Close()
	v, err := read(r)
	w.info = fi // an invalid file is not read again until it changes
	if err != nil {
		f.m.loads.WithLabelValues(name, "error").Inc()
		w.invalid = &invalidFile{fmt.Errorf("%s %s: %w", flag, w.path, err)}
		return nil, w.invalid
	}
	w.invalid = nil
	f.m.loads.WithLabelValues(name, "ok").Inc()
	return v, nil
}

// pollFile looks at one watched file if it is due, through load; a failure is logged
// once per episode (not per attempt) and puts the next attempt off, and the end of an
// episode is logged too. It reports whether the file brought a change.
func (f *Feed) pollFile(w *watchedFile, name string, load func() (bool, error)) bool {
	now := time.Now()
	if w.path == "" || !w.due(now) {
		return false
	}
	prev := w.invalid
	ch, err := load()
	if err != nil {
		if err != prev { // not the same invalid file, unchanged since
			f.m.fileErrors.WithLabelValues(name).Inc()
		}
		if w.failed(err, now, f.retryMin, f.retryMax) {
			f.log.Error(name+" file unreadable; keeping what was read before, retrying with backoff",
				"err", err, "retry_in", w.delay, "retry_max", f.retryMax)
		}
		f.m.retryDelay.WithLabelValues(name).Set(w.delay.Seconds())
		if name == "vrps" {
			f.m.fileUp.Set(0)
		}
		return name == "vrps" // the status shows the error
	}
	if d, n := w.recovered(now); n > 0 {
		f.log.Info(name+" file readable again", "path", w.path, "failed_for", d.Round(time.Second), "attempts", n)
		f.m.retryDelay.WithLabelValues(name).Set(0)
		if name == "vrps" {
			f.m.fileUp.Set(1)
		}
		return true
	}
	return ch
}

// loadSLURM reads --slurm if it changed since the last read.
func (f *Feed) loadSLURM() (bool, error) {
	sl, err := readWatched(f, &f.slurm, "slurm", "--slurm", vrp.ReadSLURM)
	if sl == nil {
		return false, err
	}
	f.exceptions = sl
	f.log.Info("slurm file read", "path", f.slurm.path, "prefix_filters", len(sl.PrefixFilters), "bgpsec_filters", len(sl.BGPsecFilters),
		"prefix_assertions", len(sl.PrefixAssertions), "bgpsec_assertions", len(sl.BGPsecAssertions))
	return true, nil
}
