package ipledgertest

import (
	"fmt"
	"net"
	"runtime"
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

// genesisState is a ledger and an in-memory state with the test genesis at time now.
func genesisState(t *testing.T) (l *ledger.Ledger, kv ipledger.KV, now time.Time) {
	kv, l = store.NewMemKV(), ledger.New("ipledgertest")
	now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := l.InitGenesis(kv, Genesis(), ipledger.Block{Time: now}); err != nil {
		t.Fatal(err)
	}
	return l, kv, now
}

// TestGenesis: the test genesis is one InitGenesis accepts, and a transaction signed with
// Key applies on it.
func TestGenesis(t *testing.T) {
	l, kv, now := genesisState(t)
	Apply(t, l, kv, ipledger.Block{Height: 2, Time: now}, ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-A", Name: "A"}}}, Signer(ipledger.RIPENCC))
	if o, err := ledger.Org(kv, Agent); err != nil || o == nil {
		t.Fatalf("the settlement agent: %v %v", o, err)
	}
}

// fatalTB records the first Fatalf and stops the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestApplyRejected: Apply fails the test on a rejected transaction, naming its code.
func TestApplyRejected(t *testing.T) {
	l, kv, now := genesisState(t)
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// ORG-A signs for RIPE NCC, which only RIPE NCC's key may do.
		Apply(tb, l, kv, ipledger.Block{Height: 2, Time: now}, ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-B", Name: "B"}}}, ipledger.Signer{Org: ipledger.RIPENCC, Key: Key("ORG-A")})
	}()
	<-done
	if !strings.Contains(tb.msg, "apply register-org at height 2: ") {
		t.Fatalf("Apply of a forged signature: %q", tb.msg)
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
