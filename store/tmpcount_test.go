package store

import (
	"testing"
	"time"
)

func TestTmpCount(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	w := s.Working()
	var setT, getT, comT time.Duration
	for i := range benchKeys {
		k := benchKey(i)
		t0 := time.Now()
		w.Get(k)
		t1 := time.Now()
		w.Set(k, benchValue(i, 0))
		t2 := time.Now()
		getT += t1.Sub(t0)
		setT += t2.Sub(t1)
		if (i+1)%benchPerBlock == 0 {
			m0 := s.db.Metrics().WAL.BytesIn
			t3 := time.Now()
			s.Commit()
			comT += time.Since(t3)
			if (i+1)%(10*benchPerBlock) == 0 {
				t.Logf("v%d: wal bytes %d get %v set %v commit %v", (i+1)/benchPerBlock, s.db.Metrics().WAL.BytesIn-m0, getT, setT, comT)
			}
		}
	}
}
