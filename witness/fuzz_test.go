package witness

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// FuzzParseAddCheckpoint checks that the request parser accepts only canonical bodies:
// whatever it accepts, Marshal gives back byte for byte, within the spec's limits.
func FuzzParseAddCheckpoint(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte("old 0\n\nx\n"))
	f.Add([]byte("old 5\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nx\n\n— a b\n"))
	f.Add([]byte("old 18446744073709551615\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseAddCheckpoint(b)
		if err != nil {
			return
		}
		if len(r.Proof) > MaxProofLines || len(r.Checkpoint) == 0 {
			t.Fatalf("accepted %d proof lines, checkpoint %q", len(r.Proof), r.Checkpoint)
		}
		for _, h := range r.Proof {
			if len(h) != 32 {
				t.Fatalf("proof hash of %d bytes", len(h))
			}
		}
		if got := r.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("round trip:\n%q\n%q", b, got)
		}
	})
}

// FuzzParseSignatureLines checks the signature line parser against the signed-note
// parser of golang.org/x/mod/sumdb/note, on the same lines after a note text: both accept
// the same inputs and find the same signatures, and formatting gives back the input.
func FuzzParseSignatureLines(f *testing.F) {
	good := "— witness.example/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
	f.Add([]byte(good))
	f.Add([]byte(good + "— other AAAAAAA=\n"))
	f.Add([]byte("— a\x01 AAAAAAA=\n"))
	f.Add([]byte("— a AAAA\rAAA=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sigs, err := ParseSignatureLines(b)
		if err == nil {
			var out strings.Builder
			for _, s := range sigs {
				out.WriteString(FormatSignatureLine(s))
			}
			if out.String() != string(b) {
				t.Fatalf("round trip:\n%q\n%q", b, out.String())
			}
			for _, s := range sigs {
				CosignatureTime(s) // must not panic
			}
		}
		if bytes.HasPrefix(b, []byte("\n")) || bytes.Contains(b, []byte("\n\n")) {
			return // the note parser would split the note elsewhere
		}
		n, nerr := note.Open(append([]byte("origin\n1\nhash\n\n"), b...), note.VerifierList())
		var unverified *note.UnverifiedNoteError
		xmodOK := errors.As(nerr, &unverified)
		if xmodOK {
			n = unverified.Note
		}
		if xmodOK != (err == nil) {
			t.Fatalf("%q: x/mod/sumdb/note says %v, ParseSignatureLines %v", b, nerr, err)
		}
		if err == nil {
			// x/mod drops repeated identical lines; compare the sets.
			seen := map[note.Signature]bool{}
			for _, s := range sigs {
				seen[s] = true
			}
			for _, s := range n.UnverifiedSigs {
				if !seen[s] {
					t.Fatalf("x/mod found %+v, ParseSignatureLines did not", s)
				}
			}
			if len(seen) != len(n.UnverifiedSigs) {
				t.Fatalf("%d distinct signatures, x/mod %d", len(seen), len(n.UnverifiedSigs))
			}
		}
	})
}

// FuzzVerifier checks the cosignature/v1 verifier against transparency-dev/formats' on
// arbitrary messages and signatures (they must agree), and that a signature this package
// makes over a checkpoint text verifies in both.
func FuzzVerifier(f *testing.F) {
	s, err := NewSigner(encodeSignerKey("witness.example/w1", bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		f.Fatal(err)
	}
	mine, err := NewVerifier(s.VerifierKey())
	if err != nil {
		f.Fatal(err)
	}
	theirs, err := fnote.NewVerifierForCosignatureV1(s.VerifierKey())
	if err != nil {
		f.Fatal(err)
	}
	sig, _ := s.signAt(1679315147, []byte(testText))
	f.Add([]byte(testText), sig)
	f.Add([]byte("a\nb\n"), sig)
	f.Add([]byte(""), []byte{})
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		if a, b := mine.Verify(msg, sig), theirs.Verify(msg, sig); a != b {
			t.Fatalf("verify(%q, %x): mine %v, formats %v", msg, sig, a, b)
		}
		own, err := s.signAt(uint64(len(sig))<<20, msg)
		if err != nil {
			return
		}
		if !mine.Verify(msg, own) || !theirs.Verify(msg, own) {
			t.Fatalf("own signature of %q does not verify", msg)
		}
	})
}

// FuzzAddCheckpointHandler sends arbitrary bodies to a witness that has cosigned a
// checkpoint: every answer is one the spec names (never a server error), and nothing but
// the true log's checkpoints moves the witness.
func FuzzAddCheckpointHandler(f *testing.F) {
	l := newTestLog(f, origin, "main").grow(10)
	first := l.request(0)
	l.grow(25)
	next := l.request(10)
	f.Add(first.Marshal())
	f.Add(next.Marshal())
	f.Add(AddCheckpointRequest{OldSize: 10, Checkpoint: next.Checkpoint}.Marshal())
	f.Add([]byte("old 10\n\n" + origin + "\n25\nAAAA\n\n— log.test AAAAAAAA\n"))
	w, err := Open(Options{Dir: f.TempDir(), Logs: map[string]string{origin: l.vkey}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { w.Close() })
	if _, err := w.AddCheckpoint(first); err != nil {
		f.Fatal(err)
	}
	h := w.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", bytes.NewReader(body)))
		switch rec.Code {
		case 200, 400, 403, 404, 409, 422:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if size := w.Size(origin); size != 10 && size != 25 {
			t.Fatalf("witness moved to %d", size)
		}
		if rec.Code == 200 && !bytes.Contains(body, []byte(origin+"\n10\n")) && !bytes.Contains(body, []byte(origin+"\n25\n")) {
			t.Fatalf("cosigned %q", body)
		}
	})
}
