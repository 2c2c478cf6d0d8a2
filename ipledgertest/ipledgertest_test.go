package ipledgertest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

func TestKey(t *testing.T) {
	if Key("ORG-A").Public() != Key("ORG-A").Public() {
		t.Fatal("Key is not deterministic")
	}
	if Key("ORG-A").Public() == Key("ORG-B").Public() {
		t.Fatal("two names share a key")
	}
	if s := Signer("ORG-A"); s.Org != "ORG-A" || s.Key.Public() != Key("ORG-A").Public() {
		t.Fatalf("Signer: %+v", s)
	}
}

// TestGenesis: the test genesis is one InitGenesis accepts, and a transaction signed with
// Key applies on it.
func TestGenesis(t *testing.T) {
	kv := store.NewMemKV()
	l := ledger.New("ipledgertest")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := l.InitGenesis(kv, Genesis(), ipledger.Block{Time: now}); err != nil {
		t.Fatal(err)
	}
	b, err := ipledger.BuildTx("ipledgertest", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-A", Name: "A"}}}, Signer(ipledger.RIPENCC))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ipledger.DecodeTx(b)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := l.Apply(kv, ipledger.Block{Height: 2, Time: now}, tx); err != nil || r.Code != ipledger.CodeOK {
		t.Fatalf("register: %s %s %v", r.Code, r.Log, err)
	}
	if o, err := ledger.Org(kv, Agent); err != nil || o == nil {
		t.Fatalf("the settlement agent: %v %v", o, err)
	}
}

func TestFreeAddr(t *testing.T) {
	l, err := net.Listen("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

// TestData: a file present is returned; a missing one skips, so the subtest reports
// skipped rather than failed, outside CI.
func TestData(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "iana"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IPLEDGER_DATA", dir)
	t.Setenv("CI", "")
	if got, ok := DataDir(); got != dir || !ok {
		t.Fatalf("DataDir() = %q, %v", got, ok)
	}
	if got := Data(t, "iana"); got != filepath.Join(dir, "iana") {
		t.Fatalf("Data = %q", got)
	}
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Data(t, "iana/nothing.xml")
		t.Error("Data returned for a missing file")
	})
	if !skipped {
		t.Fatal("a missing file did not skip")
	}
	t.Setenv("IPLEDGER_DATA", filepath.Join(dir, "missing"))
	if _, ok := DataDir(); ok {
		t.Fatal("DataDir ok for a missing folder")
	}
	t.Setenv("IPLEDGER_DATA", "")
	if got, _ := DataDir(); filepath.Base(got) != "data" || filepath.Base(filepath.Dir(got)) != "shared" {
		t.Fatalf("DataDir() = %q, want …/shared/data beside the module root", got)
	}
}

var _ ipledger.KV = FailKV{}

// TestGolden: -update writes the file; a differing text fails naming the line.
func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	Golden(t, path, []byte("a\nb\n"), true)
	Golden(t, path, []byte("a\nb\n"), false)
	if d := lineDiff("a\nb\n", "a\nc\n"); d != "line 2:\n  want \"b\"\n  got  \"c\"" {
		t.Fatalf("lineDiff: %q", d)
	}
}

// recordTB records what Data asks of a test instead of stopping it.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *recordTB) Skip(args ...any)  { r.skip = fmt.Sprint(args...) }

// TestDataCI: under CI=true a missing file fails the test, naming where it is published.
func TestDataCI(t *testing.T) {
	t.Setenv("IPLEDGER_DATA", t.TempDir())
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &recordTB{TB: t}
		Data(r, "delegated/2014-06/delegated-afrinic-latest")
		msg := r.skip
		if ci == "true" {
			msg = r.fatal
		}
		if !strings.Contains(msg, "delegated-afrinic-latest") || !strings.Contains(msg, "https://ftp.ripe.net/pub/stats/") {
			t.Errorf("CI=%q: fatal %q, skip %q", ci, r.fatal, r.skip)
		}
	}
}
