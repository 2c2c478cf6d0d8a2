//go:build unix

package store

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// diskUsage returns the bytes allocated on disk to the files under dir, as du counts them.
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && !fi.IsDir() {
			n += int64(st.Blocks) * 512
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNoWALPreallocate: a store with a few commits takes a few hundred KB on disk with
// NoWALPreallocate, where Pebble's reservation ahead of its logs takes 70 MiB a file (on
// a filesystem with fallocate).
func TestNoWALPreallocate(t *testing.T) {
	use := func(noPrealloc bool) int64 {
		dir := t.TempDir()
		s, err := Open(Options{Dir: dir, NoWALPreallocate: noPrealloc})
		if err != nil {
			t.Fatal(err)
		}
		for v := 0; v < 20; v++ {
			for i := 0; i < 50; i++ {
				if err := s.Working().Set([]byte(fmt.Sprintf("k%d-%d", v, i)), make([]byte, 100)); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		defer s.Close()
		return diskUsage(t, dir)
	}
	small := use(true)
	if small > 4<<20 {
		t.Errorf("with NoWALPreallocate the store takes %d bytes on disk", small)
	}
	if def := use(false); def < 64<<20 {
		t.Logf("this filesystem does not preallocate (%d bytes by default)", def)
	} else {
		t.Logf("on disk: %d bytes by default, %d without preallocation", def, small)
	}
}

// BenchmarkCommitWAL commits small blocks (100 keys, fsynced) with Pebble's reservation
// ahead of the log and without (NoWALPreallocate, what ipledger dev uses): what each sync
// of a growing log costs more when it also writes the file's size.
func BenchmarkCommitWAL(b *testing.B) {
	for _, c := range []struct {
		name       string
		noPrealloc bool
	}{{"prealloc", false}, {"noprealloc", true}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := Open(Options{Dir: b.TempDir(), NoWALPreallocate: c.noPrealloc})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			n := 0
			for b.Loop() {
				for range 100 {
					if err := s.Working().Set([]byte(fmt.Sprintf("key-%09d", n)), make([]byte, 200)); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if _, _, err := s.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
