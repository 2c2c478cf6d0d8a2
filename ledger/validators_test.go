package ledger

import (
	"testing"

	"github.com/ipledger/ipledger"
)

func TestSetValidator(t *testing.T) {
	e := newEnv(t)
	// Four validators of power 10, run by four registries.
	var set []Validator
	for i, op := range []string{ipledger.IANA, ipledger.RIPENCC, ipledger.ARIN, ipledger.APNIC} {
		set = append(set, Validator{PubKey: HexKey{byte(i + 1)}, Power: 10, Operator: op})
	}
	a := &apply{state: state{e.kv}}
	if err := a.initValidators(set); err != nil {
		t.Fatal(err)
	}
	if err := a.initValidators(set[:1]); err == nil {
		t.Fatal("a genesis validator was accepted twice")
	}
	add := SetValidatorBody{PubKey: HexKey{9}, Power: 10, Operator: ipledger.LACNIC}
	// Two of four is half the power, not more than two thirds.
	e.fails(ipledger.CodeUnauthorized, ipledger.KindSetValidator, add, ipledger.RIPENCC, ipledger.ARIN)
	// Operators that run no validator add nothing.
	e.fails(ipledger.CodeUnauthorized, ipledger.KindSetValidator, add, ipledger.RIPENCC, ipledger.ARIN, ipledger.LACNIC, ipledger.AFRINIC)
	e.fails(ipledger.CodeInvalid, ipledger.KindSetValidator, SetValidatorBody{PubKey: HexKey{9}, Power: MaxValidatorPower + 1, Operator: ipledger.LACNIC}, ipledger.RIPENCC, ipledger.ARIN, ipledger.APNIC)
	e.fails(ipledger.CodeNotFound, ipledger.KindSetValidator, SetValidatorBody{PubKey: HexKey{9}, Power: 5, Operator: "ORG-NONE"}, ipledger.RIPENCC, ipledger.ARIN, ipledger.APNIC)
	r := e.do(ipledger.KindSetValidator, add, ipledger.RIPENCC, ipledger.ARIN, ipledger.APNIC)
	if r.Code != ipledger.CodeOK || len(r.Validators) != 1 || r.Validators[0] != (ValidatorUpdate{PubKey: HexKey{9}, Power: 10}) {
		t.Fatalf("three of four: %+v", r)
	}
	vals, _ := Validators(e.kv)
	if len(vals) != 5 || vals[4].Operator != ipledger.LACNIC {
		t.Fatalf("set after the change %+v", vals)
	}
	// Now 30 of 50 is not enough; 40 of 50 is.
	remove := SetValidatorBody{PubKey: HexKey{1}}
	e.fails(ipledger.CodeUnauthorized, ipledger.KindSetValidator, remove, ipledger.RIPENCC, ipledger.ARIN, ipledger.APNIC)
	r = e.do(ipledger.KindSetValidator, remove, ipledger.RIPENCC, ipledger.ARIN, ipledger.APNIC, ipledger.LACNIC)
	if r.Code != ipledger.CodeOK || len(r.Validators) != 1 || r.Validators[0].Power != 0 {
		t.Fatalf("removal: %+v", r)
	}
	if vals, _ := Validators(e.kv); len(vals) != 4 {
		t.Fatalf("set after removal %+v", vals)
	}
	e.fails(ipledger.CodeNotFound, ipledger.KindSetValidator, remove, ipledger.RIPENCC, ipledger.ARIN, ipledger.APNIC, ipledger.LACNIC)
}
