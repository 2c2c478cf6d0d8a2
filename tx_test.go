package ipledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// txVector is one published test vector of the wire format (docs/TRANSACTIONS.md).
type txVector struct {
	Name       string   `json:"name"`
	Seeds      []string `json:"seeds"`   // signer key seeds, hex
	Signers    []string `json:"signers"` // organisation handles
	ChainID    string   `json:"chain_id"`
	Kind       Kind     `json:"kind"`
	Sequence   uint64   `json:"sequence"`
	Expiry     int64    `json:"expiry"`
	ExpiryTime int64    `json:"expiry_time"`
	Body       string   `json:"body"`
	Payload    string   `json:"payload_hex"`
	SignBytes  string   `json:"sign_bytes_hex"`
	Tx         string   `json:"tx_hex"`
	Hash       string   `json:"hash"`
}

func vectorKey(b byte) PrivateKey {
	k, _ := KeyFromSeed(bytes.Repeat([]byte{b}, 32))
	return k
}

func buildVectors() []txVector {
	type spec struct {
		name    string
		kind    Kind
		seq     uint64
		expiry  Expiry
		body    string
		signers []string
	}
	specs := []spec{
		{"allocate", KindAllocate, 1, Expiry{}, `{"items":[{"resource":"193.0.0.0/16","org":"ORG-EXAMPLE1","status":"ALLOCATED PA","registered":"2010-05-01"}]}`, []string{"RIPE-NCC"}},
		{"transfer-two-signers", KindTransfer, 7, Expiry{Height: 1000}, `{"resource":"193.0.0.0/17","to":"ORG-EXAMPLE2"}`, []string{"ORG-EXAMPLE1", "ORG-EXAMPLE2"}},
		{"pay-expiring", KindPay, 3, Expiry{Time: 1893456000}, `{"to":"ORG-EXAMPLE2","amount":1000000}`, []string{"ORG-EXAMPLE1"}},
		{"swap-two-signers", KindSwap, 4, Expiry{Time: 1893456000}, `{"resource":"193.0.0.0/24","buyer":"ORG-EXAMPLE2","price":800000,"asn":64500}`, []string{"ORG-EXAMPLE1", "ORG-EXAMPLE2"}},
	}
	var out []txVector
	for _, s := range specs {
		v := txVector{Name: s.name, Signers: s.signers, ChainID: "ipledger-vectors", Kind: s.kind, Sequence: s.seq, Expiry: s.expiry.Height, ExpiryTime: s.expiry.Time, Body: s.body}
		payload := EncodePayload(Payload{ChainID: v.ChainID, Kind: v.Kind, Sequence: v.Sequence, Expiry: v.Expiry, ExpiryTime: v.ExpiryTime, Body: []byte(v.Body)})
		var sigs []Signature
		for i, org := range s.signers {
			k := vectorKey(byte(i + 1))
			v.Seeds = append(v.Seeds, hex.EncodeToString(k.Seed()))
			sigs = append(sigs, k.Sign(org, payload))
		}
		tx := EncodeTx(payload, sigs)
		v.Payload = hex.EncodeToString(payload)
		v.SignBytes = hex.EncodeToString(SignBytes(payload))
		v.Tx = hex.EncodeToString(tx)
		v.Hash = HashTx(tx).String()
		out = append(out, v)
	}
	return out
}

// TestTxVectors pins the wire format: encoding, signing bytes, signatures and hashes must
// stay exactly as published in testdata/tx_vectors.json.
func TestTxVectors(t *testing.T) {
	got := buildVectors()
	b, _ := json.MarshalIndent(got, "", "  ")
	if *update {
		if err := os.WriteFile("testdata/tx_vectors.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/tx_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []txVector
	if err := json.Unmarshal(want, &vs); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("docs/TRANSACTIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if (v.Name == "allocate" || v.Name == "pay-expiring" || v.Name == "swap-two-signers") && !bytes.Contains(doc, []byte(v.Hash)) {
			t.Errorf("docs/TRANSACTIONS.md does not give vector %s's hash %s", v.Name, v.Hash)
		}
		if !equalVector(v, got[i]) {
			t.Fatalf("vector %s changed:\n got %+v\nwant %+v", v.Name, got[i], v)
		}
		raw, _ := hex.DecodeString(v.Tx)
		tx, err := DecodeTx(raw)
		if err != nil {
			t.Fatalf("vector %s does not decode: %v", v.Name, err)
		}
		if err := tx.VerifySignatures(); err != nil {
			t.Fatalf("vector %s: %v", v.Name, err)
		}
		if string(tx.Body) != v.Body || tx.Sequence != v.Sequence || tx.Kind != v.Kind || tx.Expiry != v.Expiry || tx.ExpiryTime != v.ExpiryTime || tx.Hash.String() != v.Hash {
			t.Fatalf("vector %s decodes to %+v", v.Name, tx.Payload)
		}
	}
}

func equalVector(a, b txVector) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestDecodeTxRejects(t *testing.T) {
	k := vectorKey(1)
	good, _ := BuildTx("c", KindReturn, 1, 0, ReturnBody{Resource: MustParseResource("192.0.2.0/24")}, Signer{Org: "ORG-A", Key: k})
	payload := EncodePayload(Payload{ChainID: "c", Kind: KindReturn, Sequence: 1, Body: []byte(`{}`)})
	cases := map[string][]byte{
		"empty":                    {},
		"bad magic":                append([]byte("XPL\x02"), good[4:]...),
		"version 1":                append([]byte("IPL\x01"), good[4:]...),
		"truncated":                good[:len(good)-1],
		"trailing":                 append(append([]byte{}, good...), 0),
		"no signatures":            EncodeTx(payload, nil),
		"too many":                 EncodeTx(payload, make([]Signature, MaxSigners+1)),
		"lower-case org":           EncodeTx(payload, []Signature{k.Sign("org-a", payload)}),
		"same org twice":           EncodeTx(payload, []Signature{k.Sign("ORG-A", payload), k.Sign("ORG-A", payload)}),
		"empty chain id":           EncodeTx(EncodePayload(Payload{Kind: 1, Body: []byte("{}")}), []Signature{k.Sign("ORG-A", payload)}),
		"overlong varint":          append([]byte("IPL\x02\x80\x00"), good[5:]...),
		"expiry time out of range": EncodeTx(EncodePayload(Payload{ChainID: "c", Kind: 1, ExpiryTime: 1<<62 + 1, Body: []byte("{}")}), []Signature{k.Sign("ORG-A", payload)}),
		"oversized":                make([]byte, MaxTxBytes+1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeTx(b); err == nil {
				t.Fatal("accepted")
			} else if c := ErrorCode(err); c != CodeMalformed && c != CodeTooLarge {
				t.Fatalf("code %s", c)
			}
		})
	}
	// A flipped signature bit decodes but does not verify, batched or not.
	bad := append([]byte{}, good...)
	bad[len(bad)-3] ^= 4
	tx, err := DecodeTx(bad)
	if err != nil {
		t.Fatal(err)
	}
	if ErrorCode(tx.VerifySignatures()) != CodeBadSignature {
		t.Fatal("bad signature verified")
	}
	okTx, _ := DecodeTx(good)
	bv := NewBatchVerifier()
	bv.Add(okTx)
	bv.Add(tx)
	if res := bv.Verify(nil); !res[0] || res[1] {
		t.Fatalf("batch verdicts %v, want [true false]", res)
	}
}

func FuzzDecodeTx(f *testing.F) {
	for _, v := range buildVectors() {
		b, _ := hex.DecodeString(v.Tx)
		f.Add(b)
	}
	f.Add([]byte("IPL\x01"))
	f.Add([]byte("IPL\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			if c := ErrorCode(err); c != CodeMalformed && c != CodeTooLarge {
				t.Fatalf("error code %s", c)
			}
			return
		}
		// Whatever decodes re-encodes to exactly the same bytes: one encoding per transaction.
		if re := EncodeTx(EncodePayload(tx.Payload), tx.Signatures); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs")
		}
		_ = tx.VerifySignatures()
	})
}

// TestBatchVerifierMatchesSingle compares the batch verdicts with VerifySignatures over
// batches larger than one voi batch of expanded keys, with keys that repeat, signatures
// that do not verify, and keys that are not valid points or are of small order.
func TestBatchVerifierMatchesSingle(t *testing.T) {
	var keys []PrivateKey
	for i := range 12 {
		seed := sha256.Sum256([]byte{byte(i)})
		k, err := KeyFromSeed(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	odd := []PublicKey{
		{1},                      // the identity point: small order
		{0xff, 0xff, 0xff, 0xff}, // not on the curve
		func() (k PublicKey) { // y = p + 1: a non-canonical encoding of y = 1
			k[0] = 0xee
			for i := 1; i < 31; i++ {
				k[i] = 0xff
			}
			k[31] = 0x7f
			return k
		}(),
	}
	for _, n := range []int{1, 50, 93, 94, 400} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			bv := NewBatchVerifier()
			var txs []*Tx
			for i := range n {
				payload := EncodePayload(Payload{ChainID: "c", Kind: 1, Sequence: uint64(i + 1), Body: []byte("{}")})
				tx := &Tx{PayloadBytes: payload}
				for j := range 1 + i%3 {
					s := keys[(i*7+j)%len(keys)].Sign(fmt.Sprintf("ORG-%d", j), payload)
					switch {
					case i%17 == 5 && j == 0:
						s.Sig[10] ^= 1
					case i%29 == 11:
						s.Key = odd[(i/29)%len(odd)]
					}
					tx.Signatures = append(tx.Signatures, s)
				}
				txs = append(txs, tx)
				bv.Add(tx)
			}
			got := bv.Verify(nil)
			bad := 0
			for i, tx := range txs {
				if want := tx.VerifySignatures() == nil; got[i] != want {
					t.Fatalf("transaction %d: batch says %v, single %v", i, got[i], want)
				}
				if !got[i] {
					bad++
				}
			}
			if n >= 50 && bad == 0 {
				t.Fatal("no bad signature in the batch")
			}
		})
	}
}

// benchTxs returns 300 transactions signed by 40 signers.
func benchTxs() []*Tx {
	var keys []PrivateKey
	for i := range 40 {
		seed := sha256.Sum256([]byte{byte(i), 1})
		k, _ := KeyFromSeed(seed[:])
		keys = append(keys, k)
	}
	var txs []*Tx
	for i := range 300 {
		payload := EncodePayload(Payload{ChainID: "c", Kind: 1, Sequence: uint64(i + 1), Body: []byte("{}")})
		txs = append(txs, &Tx{PayloadBytes: payload, Signatures: []Signature{keys[i%40].Sign("ORG-A", payload)}})
	}
	return txs
}

// BenchmarkBatchVerifier verifies 300 signatures by 40 signers in batches of a given size.
func BenchmarkBatchVerifier(b *testing.B) {
	txs := benchTxs()
	for _, size := range []int{4, 16, 64, 300} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			for range b.N {
				for i := 0; i < len(txs); i += size {
					bv := NewBatchVerifier()
					for _, tx := range txs[i:min(i+size, len(txs))] {
						bv.Add(tx)
					}
					for _, ok := range bv.Verify(nil) {
						if !ok {
							b.Fatal("bad")
						}
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(txs))/1000, "µs/sig")
		})
	}
}

// BenchmarkVerifySignatures verifies the same signatures one at a time.
func BenchmarkVerifySignatures(b *testing.B) {
	txs := benchTxs()
	b.ResetTimer()
	for i := range b.N {
		if err := txs[i%len(txs)].VerifySignatures(); err != nil {
			b.Fatal(err)
		}
	}
}

// handleReference is the definition of a handle as a regular expression: the slow
// reference ValidHandle is checked against.
var handleReference = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,62}[A-Z0-9]$|^[A-Z0-9]$`)

func FuzzValidHandle(f *testing.F) {
	for _, s := range []string{"", "A", "-", "A-", "-A", "ORG-EXAMPLE1", "RIPE-NCC", "org-x", "A--B",
		strings.Repeat("A", 64), strings.Repeat("A", 65), "ÄB", "A B", "A_B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidHandle(s), handleReference.MatchString(s); got != want {
			t.Fatalf("ValidHandle(%q) = %v, the definition says %v", s, got, want)
		}
	})
}

// TestParseHash accepts either case, as printed (upper) or as typed, and nothing else.
func TestParseHash(t *testing.T) {
	h := HashTx([]byte("x"))
	for _, s := range []string{h.String(), strings.ToLower(h.String()), strings.ToLower(h.String()[:10]) + h.String()[10:]} {
		if got, err := ParseHash(s); err != nil || got != h {
			t.Fatalf("ParseHash(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", h.String()[1:], h.String() + "0", "G" + h.String()[1:], " " + h.String()[1:]} {
		if _, err := ParseHash(s); err == nil {
			t.Fatalf("ParseHash(%q) accepted", s)
		}
	}
}

// FuzzParseHash: parseHex32, behind ParseHash and ParsePublicKey, never panics, and what it
// accepts prints (upper case) as text that parses back to the same hash.
func FuzzParseHash(f *testing.F) {
	h := HashTx([]byte("x")).String()
	fuzzRoundTrip(f, ParseHash, h, strings.ToLower(h), h[1:], "G"+h[1:], " "+h[1:], "")
}
