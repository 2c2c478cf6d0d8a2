package rdap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ledger"
)

// genesisTime is the fixed genesis time of the test chains; block h is h minutes later.
var genesisTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// testKey returns a deterministic key per organisation.
func testKey(name string) ipledger.PrivateKey {
	seed := sha256.Sum256([]byte("rdap test " + name))
	k, err := ipledger.KeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

func signer(org string) ipledger.Signer { return ipledger.Signer{Org: org, Key: testKey(org)} }

// testChain is a chain driven through the real application without consensus.
type testChain struct {
	t      testing.TB
	id     string
	r      *chain.Replayer
	height int64
	seq    map[string]uint64
}

// newTestChain starts a chain from g and commits block 1 (genesis), as a node does.
func newTestChain(t testing.TB, id string, g *ledger.Genesis) *testChain {
	t.Helper()
	r, err := chain.NewReplayer(context.Background(), t.TempDir(), id, genesisTime, g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c := &testChain{t: t, id: id, r: r, seq: map[string]uint64{}}
	c.block()
	return c
}

// tx builds a transaction signed by signers, the first one's next sequence.
func (c *testChain) tx(kind ipledger.Kind, body any, signers ...string) []byte {
	c.t.Helper()
	var ss []ipledger.Signer
	for _, s := range signers {
		ss = append(ss, signer(s))
	}
	c.seq[signers[0]]++
	b, err := ipledger.BuildTx(c.id, kind, c.seq[signers[0]], 0, body, ss...)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// block commits the next block with txs and wants every one applied.
func (c *testChain) block(txs ...[]byte) {
	c.t.Helper()
	c.height++
	_, codes, err := c.r.Apply(context.Background(), chain.ReplayBlock{Height: c.height, Time: genesisTime.Add(time.Duration(c.height) * time.Minute), Txs: txs})
	if err != nil {
		c.t.Fatal(err)
	}
	for i, code := range codes {
		if code != 0 {
			out, _, _ := c.r.App().Outcome(ipledger.HashTx(txs[i]))
			c.t.Fatalf("block %d tx %d: %s: %s", c.height, i, ipledger.Code(code), out.Log)
		}
	}
}

func (c *testChain) app() *chain.App { return c.r.App() }

// call makes one request to h and returns the response recorder and its decoded JSON body
// (nil when there is none).
func call(t testing.TB, h http.Handler, method, target, remote string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.Len() == 0 {
		return rec, nil
	}
	var body map[string]any
	d := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	d.UseNumber()
	if err := d.Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, target, err, rec.Body.String())
	}
	return rec, body
}

// at walks a decoded JSON value by object keys and array indices; nil when a step is
// missing.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// str is at(...) as a string ("" when missing or not a string).
func str(v any, path ...any) string {
	s, _ := at(v, path...).(string)
	if n, ok := at(v, path...).(json.Number); ok {
		return n.String()
	}
	return s
}

// list is at(...) as an array.
func list(v any, path ...any) []any {
	a, _ := at(v, path...).([]any)
	return a
}

// strs collects member key of each element of the array at path.
func strs(v any, key string, path ...any) []string {
	var out []string
	for _, e := range list(v, path...) {
		out = append(out, str(e, key))
	}
	return out
}

// linkTo returns the href of the first link with rel among an object's links.
func linkTo(obj any, rel string) string {
	for _, l := range list(obj, "links") {
		if str(l, "rel") == rel {
			return str(l, "href")
		}
	}
	return ""
}

func join(s []string) string { return strings.Join(s, " ") }
