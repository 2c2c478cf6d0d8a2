package witness

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

const testText = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

// TestCosignatureInterop checks this package's keys and cosignatures against
// transparency-dev/formats: each side verifies the other's signatures and computes the
// same key IDs.
func TestCosignatureInterop(t *testing.T) {
	skey, vkey, myVerifier, mySigner := newKeys(t, "witness.example/w1")
	theirSigner, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	theirVerifier, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if mySigner.KeyHash() != theirSigner.KeyHash() || myVerifier.KeyHash() != theirVerifier.KeyHash() || mySigner.KeyHash() != myVerifier.KeyHash() {
		t.Fatalf("key IDs differ: %08x %08x %08x %08x", mySigner.KeyHash(), theirSigner.KeyHash(), myVerifier.KeyHash(), theirVerifier.KeyHash())
	}
	if mySigner.VerifierKey() != vkey {
		t.Fatalf("verifier key %s, generated %s", mySigner.VerifierKey(), vkey)
	}
	for _, c := range []struct {
		name     string
		signer   note.Signer
		verifier note.Verifier
	}{{"mine → formats", mySigner, theirVerifier}, {"formats → mine", theirSigner, myVerifier}, {"mine → mine", mySigner, myVerifier}} {
		signed, err := note.Sign(&note.Note{Text: testText}, c.signer)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n, err := note.Open(signed, note.VerifierList(c.verifier))
		if err != nil || len(n.Sigs) != 1 {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ts, err := CosignatureTime(n.Sigs[0]); err != nil || time.Since(ts) > time.Minute {
			t.Fatalf("%s: time %v %v", c.name, ts, err)
		}
		// Another text does not verify.
		if c.verifier.Verify([]byte(strings.Replace(testText, "20852163", "20852164", 1)), sigBytes(t, n.Sigs[0])) {
			t.Fatalf("%s: signature verifies for another checkpoint", c.name)
		}
	}
}

func sigBytes(t *testing.T, s note.Signature) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s.Base64)
	if err != nil {
		t.Fatal(err)
	}
	return raw[4:]
}

// TestCosignedMessage checks the signed message byte for byte (C2SP tlog-cosignature's
// example) and the signature layout: timestamp, then Ed25519.
func TestCosignedMessage(t *testing.T) {
	_, s := newSigner(t, "witness.example/w1")
	sig, err := s.signAt(1679315147, []byte(testText))
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 72 || binary.BigEndian.Uint64(sig) != 1679315147 {
		t.Fatalf("signature %x", sig)
	}
	want := "cosignature/v1\ntime 1679315147\n" + testText
	if !ed25519.Verify(s.pub, []byte(want), sig[8:]) {
		t.Fatal("the Ed25519 signature is not over the spec's message")
	}
	if _, err := s.signAt(1<<63, []byte(testText)); err == nil {
		t.Fatal("signed a timestamp beyond 2^63-1")
	}
	if _, err := s.signAt(1, []byte("one line\n")); err == nil {
		t.Fatal("signed a text that is not a checkpoint")
	}
}

func TestKeys(t *testing.T) {
	skey, vkey, err := GenerateKey("w")
	if err != nil {
		t.Fatal(err)
	}
	ed25519Skey, ed25519Vkey, _ := note.GenerateKey(nil, "w")
	name, rest, _ := strings.Cut(vkey, "+")
	_, key64, _ := strings.Cut(rest, "+")
	for _, bad := range []string{"", "w", ed25519Vkey, name + "+00000000+" + key64, "x+" + rest, "w+" + rest[:8] + "+" + key64[:10], " w+" + rest} {
		if _, err := NewVerifier(bad); err == nil {
			t.Errorf("verifier key %q accepted", bad)
		}
	}
	for _, bad := range []string{"", ed25519Skey, strings.Replace(skey, "PRIVATE", "PUBLIC", 1), skey[:len(skey)-4]} {
		if _, err := NewSigner(bad); err == nil {
			t.Errorf("signer key %q accepted", bad)
		}
	}
	for _, bad := range []string{"", "a b", "a+b", "a\tb"} {
		if _, _, err := GenerateKey(bad); err == nil {
			t.Errorf("key name %q accepted", bad)
		}
	}
}

func TestParseSignatureLines(t *testing.T) {
	good := "— witness.example/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
	sigs, err := ParseSignatureLines([]byte(good + good))
	if err != nil || len(sigs) != 2 || sigs[0].Name != "witness.example/w1" || sigs[0].Hash != 0x8d66cf3f {
		t.Fatalf("%+v %v", sigs, err)
	}
	if ts, err := CosignatureTime(sigs[0]); err != nil || ts.Unix() != 1679315147 {
		t.Fatalf("time %v %v", ts, err)
	}
	for _, bad := range []string{
		"",
		"\n",
		strings.TrimSuffix(good, "\n"),
		"- witness.example/w1 jWbPPwAAAABk\n",
		"— witness.example/w1\n",
		"— witness.example/w1 \n",
		"— witness.example/w1 jWbP\n", // too short
		"— witness.example/w1 not*base64\n",
		"— witness+example jWbPPwAAAABk\n",
		"— witness.example/w1 jWbPPw\rAAAABk\n",
		good + "\n",
		strings.Repeat(good, 101),
	} {
		if _, err := ParseSignatureLines([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
