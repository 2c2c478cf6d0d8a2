package ipledgertest

import (
	"net"
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
