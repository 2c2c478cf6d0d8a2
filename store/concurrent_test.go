package store

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentReaders reads committed views while the writer keeps changing the working
// tree, committing and pruning. Run it with -race.
func TestConcurrentReaders(t *testing.T) {
	const keep = 4
	s := openTest(t, t.TempDir(), Options{NoSync: true, KeepRecent: keep, CacheSize: 2000})
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Go(func() {
			for !done.Load() {
				if err := checkView(s); err != nil {
					// A view may be pruned under a slow reader; anything else is a bug.
					if v, verr := s.ReadAt(0); verr == nil && v.Version()-keep < versionOf(err) {
						errs <- err
						return
					}
				}
			}
		})
	}
	w := s.Working()
	for v := 1; v <= 60; v++ {
		for i := range 100 {
			if err := w.Set(fmt.Appendf(nil, "k%03d", (i*13+v*7)%300), []byte(strconv.Itoa(v))); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Set([]byte("counter"), []byte(strconv.Itoa(v))); err != nil {
			t.Fatal(err)
		}
		// Read the working tree too, as the ledger does during a block.
		if err := w.Iterate([]byte("k100"), []byte("k200"), true, func(k, v []byte) bool { return true }); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

type viewError struct {
	version int64
	err     error
}

func (e *viewError) Error() string { return fmt.Sprintf("version %d: %v", e.version, e.err) }

func versionOf(err error) int64 {
	if e, ok := err.(*viewError); ok {
		return e.version
	}
	return 1 << 62
}

func checkView(s *Store) error {
	version := s.Version()
	if version == 0 {
		return nil
	}
	fail := func(err error) error { return &viewError{version, err} }
	v, err := s.ReadAt(version)
	if err != nil {
		return fail(err)
	}
	c, err := v.Get([]byte("counter"))
	if err != nil {
		return fail(err)
	}
	if string(c) != strconv.FormatInt(v.Version(), 10) {
		return fail(fmt.Errorf("counter %q", c))
	}
	err = v.Iterate(nil, nil, false, func(k, val []byte) bool {
		n, perr := strconv.ParseInt(string(val), 10, 64)
		if perr != nil || n > v.Version() {
			err = fmt.Errorf("key %s has value %q from the future", k, val)
			return false
		}
		return true
	})
	if err != nil {
		return fail(err)
	}
	value, proof, err := v.Prove([]byte("k150"))
	if err != nil {
		return fail(err)
	}
	if err := VerifyProof(v.Hash(), []byte("k150"), value, proof); err != nil {
		return fail(err)
	}
	return nil
}
