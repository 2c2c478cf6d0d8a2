package store

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashDirEnv = "IPLEDGER_STORE_CRASH_DIR"

// writeCrashVersion makes the deterministic changes of version v: new keys, and updates and
// deletes of older ones; and its side data, in a batch it commits unless keep is set, in
// which case it returns it.
func writeCrashVersion(s *Store, v int64, keep bool) (*SideBatch, error) {
	w := s.Working()
	for i := range 500 {
		val := bytes.Repeat(fmt.Appendf(nil, "%d.%d;", v, i), 20)
		if err := w.Set(fmt.Appendf(nil, "k/%06d/%03d", v, i), val); err != nil {
			return nil, err
		}
	}
	if v > 1 {
		if err := w.Set(fmt.Appendf(nil, "k/%06d/%03d", v/2, v%500), fmt.Appendf(nil, "updated at %d", v)); err != nil {
			return nil, err
		}
		if err := w.Delete(fmt.Appendf(nil, "k/%06d/%03d", v-1, 7)); err != nil {
			return nil, err
		}
	}
	b := s.NewSideBatch()
	if err := b.Set(fmt.Appendf(nil, "block/%06d", v), []byte("record")); err != nil {
		return nil, err
	}
	if keep {
		return b, nil
	}
	return nil, b.Commit(false)
}

// TestCrashHelper is the process TestCrashKill kills: it commits versions until killed,
// printing each version and root hash once Commit has returned.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKill")
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for v := s.Version() + 1; ; v++ {
		// Half the versions commit their side data with the tree (CommitWith, as a node
		// does), half before it.
		side, err := writeCrashVersion(s, v, v%2 == 0)
		if err != nil {
			t.Fatal(err)
		}
		hash, version, err := s.CommitWith(side)
		if err != nil || version != v {
			t.Fatalf("Commit = %d, %v", version, err)
		}
		fmt.Printf("committed %d %x\n", version, hash)
	}
}

// TestCrashKill SIGKILLs a process that commits versions as fast as it can, at a random
// point, and checks that the store reopens at the last committed version (or the one whose
// Commit was under way) with exactly the contents and hash a clean replay gives.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses")
	}
	dir := t.TempDir()
	printed := map[int64]string{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var last int64
		for lines := 0; lines < 3+round*3 && sc.Scan(); {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "committed" {
				continue
			}
			lines++
			v, _ := strconv.ParseInt(f[1], 10, 64)
			printed[v], last = f[2], v
		}
		// Land the kill at varying points of the next commits.
		time.Sleep(time.Duration(round*3) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "committed" {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				printed[v], last = f[2], v
			}
		}
		_ = cmd.Wait()
		if last == 0 {
			t.Fatalf("round %d: helper committed nothing", round)
		}

		s, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		got := s.Version()
		t.Logf("round %d: killed after version %d printed, reopened at %d", round, last, got)
		if got != last && got != last+1 {
			t.Fatalf("round %d: reopened at version %d, last committed %d", round, got, last)
		}
		if h, ok := printed[got]; ok && h != hex.EncodeToString(s.Hash()) {
			t.Fatalf("round %d: version %d hash %x, printed %s", round, got, s.Hash(), h)
		}
		// Replay into a fresh store and compare the root and every key.
		ref := openTest(t, t.TempDir(), Options{NoSync: true})
		for v := int64(1); v <= got; v++ {
			if _, err := writeCrashVersion(ref, v, false); err != nil {
				t.Fatal(err)
			}
			if _, _, err := ref.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(ref.Hash(), s.Hash()) {
			t.Fatalf("round %d: reopened hash %x, replay gives %x", round, s.Hash(), ref.Hash())
		}
		have, want := collect(t, s.Working(), nil, nil, false, -1), collect(t, ref.Working(), nil, nil, false, -1)
		if !slices.Equal(have, want) {
			t.Fatalf("round %d: reopened store has %d keys, replay %d, or their values differ", round, len(have), len(want))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
