// Package ipledgertest provides what the tests of ipledger's packages share, as
// net/http/httptest does for net/http: deterministic keys and signers, a test genesis,
// free loopback addresses, the shared folder of real registry data and a goroutine-safe
// buffer for logs. It imports the root and ledger only, so that the tests of every
// package above ledger, chain's among them, can use it; a running chain for a test is in
// the sub-package chaintest, which imports chain.
//
// Nothing here is for production code: the keys are derived from their names, so anyone
// can sign with them.
package ipledgertest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/ipledger/ipledger"
)

// Key returns the key of name: the same on every call and in every package, derived from
// the name alone.
func Key(name string) ipledger.PrivateKey {
	seed := sha256.Sum256([]byte("ipledgertest " + name))
	k, err := ipledger.KeyFromSeed(seed[:])
	if err != nil {
		panic(err) // a SHA-256 digest is always a seed's length
	}
	return k
}

// Signer returns org signing with Key(org).
func Signer(org string) ipledger.Signer { return ipledger.Signer{Org: org, Key: Key(org)} }

// Signers returns a Signer for each org, in order.
func Signers(orgs ...string) []ipledger.Signer {
	ss := make([]ipledger.Signer, len(orgs))
	for i, o := range orgs {
		ss[i] = Signer(o)
	}
	return ss
}

// FreeAddr returns a loopback TCP address ("127.0.0.1:port") that was free a moment ago,
// for a listener the test starts by address (a port the OS picks is better where the
// listener takes ":0").
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// LockedBuffer is a bytes.Buffer that several goroutines may write while the test reads
// it: a logger's or a process's output. The zero LockedBuffer is empty and ready.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Serve runs serve on a new loopback listener and returns the listener's address. When
// the test ends it calls stop and fails the test unless serve then returned closed (as
// errors.Is tells): a server must stop when told, with the error that says so.
func Serve(tb testing.TB, serve func(net.Listener) error, stop func() error, closed error) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ln) }()
	tb.Cleanup(func() {
		stop()
		if err := <-done; !errors.Is(err, closed) {
			tb.Errorf("Serve returned %v, want %v", err, closed)
		}
	})
	return ln.Addr().String()
}
