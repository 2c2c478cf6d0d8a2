package ledger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// A payment rejected for want of credits, posted again byte for byte once the payer has
// been credited (anyone can fetch it from the log), is a replay: it consumed its sequence
// when it was rejected.
func TestRejectedTxNeverAppliesLater(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-B")
	pay := e.build(ipledger.KindPay, e.seq["ORG-A"]+1, ipledger.PayBody{To: "ORG-B", Amount: 1_000_000}, "ORG-A")
	before := e.view()
	r := e.applyTx(pay)
	if r.Code != ipledger.CodeNoFunds {
		t.Fatalf("pay without credits: %s (%s)", r.Code, r.Log)
	}
	e.checkRejected(before, pay, r)
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-A", Amount: 2_000_000}, testAgent)
	before = e.view()
	if r := e.applyTx(pay); r.Code != ipledger.CodeStaleSequence {
		t.Fatalf("the rejected payment posted again: %s (%s)", r.Code, r.Log)
	} else {
		e.checkRejected(before, pay, r)
	}
	if b, _ := Balance(e.kv, "ORG-B"); b != 0 {
		t.Fatalf("ORG-B holds %d credits", b)
	}
	// The payer's next transaction takes the next sequence.
	e.ok(ipledger.KindPay, ipledger.PayBody{To: "ORG-B", Amount: 1_000_000}, "ORG-A")
	if b, _ := Balance(e.kv, "ORG-B"); b != 1_000_000 {
		t.Fatalf("ORG-B holds %d credits, want 1000000", b)
	}
}

// A transaction that fails authentication consumes nothing: nobody can burn another
// organisation's sequence with a signature of their own key.
func TestAuthFailureConsumesNothing(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	e.keys["ORG-A"] = keyFor("not ORG-A")
	e.fails(ipledger.CodeUnknownKey, ipledger.KindPay, ipledger.PayBody{To: ipledger.RIPENCC, Amount: 1}, "ORG-A")
	e.keys["ORG-A"] = keyFor("ORG-A")
	if o, _ := Org(e.kv, "ORG-A"); o.Sequence != 0 {
		t.Fatalf("sequence %d after a forged transaction", o.Sequence)
	}
}

// Expiry by block time: a transaction commits at a block time up to and including its
// expiry time, not after; an expired one consumes nothing.
func TestExpiryTime(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	build := func(exp ipledger.Expiry) *ipledger.Tx {
		b, err := ipledger.BuildTxExpiring(testChain, ipledger.KindUpdateOrg, e.seq["ORG-A"]+1, exp,
			ipledger.UpdateOrgBody{Org: "ORG-A", Name: "A"}, ipledger.Signer{Org: "ORG-A", Key: keyFor("ORG-A")})
		if err != nil {
			t.Fatal(err)
		}
		tx, err := ipledger.DecodeTx(b)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	at := func(tx *ipledger.Tx, when time.Time) Result {
		e.height++
		r, err := e.l.Apply(e.kv, ipledger.Block{Height: e.height, Time: when}, tx)
		if err != nil {
			t.Fatal(err)
		}
		if consumes(r.Code) {
			e.seq["ORG-A"] = tx.Sequence
		}
		return r
	}
	deadline := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tx := build(ipledger.Expiry{Time: deadline.Unix()})
	before := e.view()
	if r := at(tx, deadline.Add(time.Second)); r.Code != ipledger.CodeExpired {
		t.Fatalf("a second late: %s (%s)", r.Code, r.Log)
	} else {
		e.checkRejected(before, tx, r)
	}
	if r := at(tx, deadline); r.Code != ipledger.CodeOK {
		t.Fatalf("at its expiry time: %s (%s)", r.Code, r.Log)
	}
	// Both bounds hold: the height one too.
	tx = build(ipledger.Expiry{Height: e.height + 1, Time: deadline.Unix()})
	if r := at(tx, deadline.Add(-time.Hour)); r.Code != ipledger.CodeOK {
		t.Fatalf("inside both bounds: %s (%s)", r.Code, r.Log)
	}
	tx = build(ipledger.Expiry{Height: e.height, Time: deadline.Unix()})
	if r := at(tx, deadline.Add(-time.Hour)); r.Code != ipledger.CodeExpired {
		t.Fatalf("past its height: %s (%s)", r.Code, r.Log)
	}
	// Authenticate (CheckTx) applies the same rule to the time it is given.
	tx = build(ipledger.Expiry{Time: deadline.Unix()})
	if err := e.l.Authenticate(e.kv, tx, ipledger.Block{Height: e.height + 1, Time: deadline.Add(time.Second)}, 0); ipledger.ErrorCode(err) != ipledger.CodeExpired {
		t.Fatalf("Authenticate a second late: %v", err)
	}
	if err := e.l.Authenticate(e.kv, tx, ipledger.Block{Height: e.height + 1, Time: deadline}, 0); err != nil {
		t.Fatalf("Authenticate at its expiry time: %v", err)
	}
}

// Text holding invalid UTF-8 or a control or format character is refused with bad_text in
// every kind, in nested items too, decoded ahead or not, and the transaction consumes its
// sequence.
func TestBadText(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	bad := map[string]string{
		"CR": "Evil\rsource: RIPE", "LF": "Evil\ninetnum: 1.2.3.4", "NUL": "Evil\x00", "ESC": "Evil\x1b[2J",
		"DEL": "Evil\x7f", "NEL": "Evil\u0085", "RLO": "Evil\u202egnp.exe", "BOM": "\ufeffEvil",
		"LRM": "Evil\u200e",
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			e.t = t
			e.fails(ipledger.CodeBadText, ipledger.KindUpdateOrg, ipledger.UpdateOrgBody{Org: "ORG-A", Name: s}, "ORG-A")
			e.fails(ipledger.CodeBadText, ipledger.KindUpdateOrg, ipledger.UpdateOrgBody{Org: "ORG-A", AbuseMailbox: "abuse" + s + "@example.net"}, "ORG-A")
			e.fails(ipledger.CodeBadText, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
				{Handle: "ORG-OK", Name: "fine"}, {Handle: "ORG-EVIL", Name: s}}}, ipledger.RIPENCC)
			e.fails(ipledger.CodeBadText, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
				{Handle: "ORG-EVIL", Name: "x", OpaqueID: s}}}, ipledger.RIPENCC)
			e.fails(ipledger.CodeBadText, ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{
				{Resource: mustRes("193.0.1.0/24"), Org: "ORG-A", Status: ipledger.Status("ASSIGNED PA" + s)}}}, "ORG-A")
			e.fails(ipledger.CodeBadText, ipledger.KindSetGeo, ipledger.SetGeoBody{Resource: mustRes("193.0.1.0/24"), Country: "NL", City: s}, "ORG-A")
			e.fails(ipledger.CodeBadText, ipledger.KindPay, ipledger.PayBody{To: s, Amount: 1}, "ORG-A")
			e.fails(ipledger.CodeBadText, ipledger.KindSetValidator, SetValidatorBody{PubKey: HexKey{1}, Power: 1, Operator: s}, "ORG-A")
			// An unknown member whose name or value is bad text: refused all the same.
			e.fails(ipledger.CodeBadText, ipledger.KindUpdateOrg, map[string]string{"org": "ORG-A", "name": s}, "ORG-A")
		})
	}
	e.t = t
	// encoding/json, which builds the bodies above, turns invalid UTF-8 into U+FFFD; these
	// bodies carry it as signed.
	for _, body := range []string{
		"{\"org\":\"ORG-A\",\"name\":\"Evil\xff\"}",
		"{\"items\":[{\"resource\":\"193.0.1.0/24\",\"org\":\"ORG-A\",\"status\":\"ASSIGNED PA\",\"country\":\"N\xc0\"}]}",
		"{\"org\":\"ORG-A\",\"name\":\"\xed\xa0\x80\"}", // an encoded surrogate
	} {
		kind := ipledger.KindUpdateOrg
		if body[2] == 'i' {
			kind = ipledger.KindAssign
		}
		e.fails(ipledger.CodeBadText, kind, json.RawMessage(body), "ORG-A")
	}
	// Printable text beyond ASCII stays welcome.
	e.ok(ipledger.KindUpdateOrg, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "Société Générale 株式会社 Ελλάδα ✓"}, "ORG-A")
}

// Genesis records the state format; state without it, or with another, is refused.
func TestStateFormat(t *testing.T) {
	e := newEnv(t)
	if err := CheckStateFormat(e.kv); err != nil {
		t.Fatalf("fresh state: %v", err)
	}
	for _, c := range []struct {
		value []byte
		want  string
	}{
		{nil, "format 1, from an older"},
		{[]byte{0, 0, 0, 0, 0, 0, 0, StateFormat + 1}, "from a newer"},
	} {
		var err error
		if c.value == nil {
			err = e.kv.Delete(stateFormatKey)
		} else {
			err = e.kv.Set(stateFormatKey, c.value)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckStateFormat(e.kv); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("format %x: %v, want %q", c.value, err, c.want)
		}
	}
}
