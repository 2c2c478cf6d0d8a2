package ipledgertest

import (
	"errors"
	"testing"

	"github.com/ipledger/ipledger"
)

var _ ipledger.KV = FailKV{}

func TestFailKV(t *testing.T) {
	if _, err := (FailKV{}).Get([]byte("k")); !errors.Is(err, ErrDisk) {
		t.Fatalf("zero FailKV: %v", err)
	}
	mine := errors.New("mine")
	kv := FailKV{Err: mine}
	called := false
	if err := kv.Iterate(nil, nil, false, func(_, _ []byte) bool { called = true; return true }); !errors.Is(err, mine) || called {
		t.Fatalf("Iterate: %v, fn called %v", err, called)
	}
	if kv.Set([]byte("k"), []byte("v")) != mine || kv.Delete([]byte("k")) != mine {
		t.Fatal("Set or Delete did not fail with Err")
	}
}
