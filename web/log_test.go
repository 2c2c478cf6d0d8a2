package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// signedCheckpoint returns a checkpoint note signed by a fresh log key and cosigned by a
// witness at ts (a cosignature/v1 line: key hash, timestamp, signature).
func signedCheckpoint(t testing.TB, ts time.Time) []byte {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "ipledger/web-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	root := base64.StdEncoding.EncodeToString(make([]byte, 32))
	b, err := note.Sign(&note.Note{Text: "ipledger/web-test\n42\n" + root + "\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	cosig := make([]byte, 4+8+64)
	copy(cosig, []byte{1, 2, 3, 4})
	binary.BigEndian.PutUint64(cosig[4:], uint64(ts.Unix()))
	return append(b, []byte("— witness.example "+base64.StdEncoding.EncodeToString(cosig)+"\n")...)
}

func TestParseCheckpoint(t *testing.T) {
	ts := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cp, err := parseCheckpoint(signedCheckpoint(t, ts))
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != "ipledger/web-test" || cp.Size != 42 || len(cp.Sigs) != 2 || cp.Sigs[0].Witness ||
		!cp.Sigs[1].Witness || cp.Sigs[1].Name != "witness.example" || !cp.Sigs[1].Time.Equal(ts) || cp.Sigs[1].KeyHash != "01020304" {
		t.Fatalf("%+v", cp)
	}
	root := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, bad := range []string{
		"",
		"o\n1\n" + root + "\n",   // no signatures
		"o\n1\n" + root + "\n\n", // an empty signature block
		"o\n01\n" + root + "\n\n— a AQIDBAU=\n",       // a size with a leading zero
		"o\nx\n" + root + "\n\n— a AQIDBAU=\n",        // no size
		"o\n1\nAAAA\n\n— a AQIDBAU=\n",                // a short root
		"o\n1\n" + root + "\n\n— a AQIDBAU=",          // no final newline
		"o\n1\n" + root + "\n\n- a AQIDBAU=\n",        // not an em dash
		"o\n1\n" + root + "\n\n— a !!!\n",             // not base64
		"\n1\n" + root + "\n\n— a AQIDBAU=\n",         // no origin
		"o\n1\n" + root + "\n\n— AQIDBAU=\n",          // no name
		strings.Repeat("x", maxCheckpoint+1) + "\n\n", // too long
	} {
		if _, err := parseCheckpoint([]byte(bad)); err == nil {
			t.Errorf("%.60q parsed", bad)
		}
	}
}

// FuzzParseCheckpoint: parseCheckpoint never panics, and what it accepts has an origin,
// at least one signature and a name for each.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add(signedCheckpoint(f, time.Unix(1_800_000_000, 0)))
	f.Add([]byte("o\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\nextension\n\n— a AQIDBAU=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := parseCheckpoint(b)
		if err != nil {
			return
		}
		if cp.Origin == "" || len(cp.Sigs) == 0 || strings.Contains(cp.Origin, "\n") {
			t.Fatalf("%q: %+v", b, cp)
		}
		for _, s := range cp.Sigs {
			if s.Name == "" || strings.ContainsAny(s.Name, " \n") || len(s.KeyHash) != 8 {
				t.Fatalf("%q: signature %+v", b, s)
			}
		}
	})
}

// withCheckpoint is a Reader whose node keeps a checkpoint, as chain's App does.
type withCheckpoint struct {
	ipledger.Reader
	cp []byte
}

func (w withCheckpoint) CosignedCheckpoint() []byte { return w.cp }

// TestLogPage shows a cosigned checkpoint with its witness and the log's size chart.
func TestLogPage(t *testing.T) {
	w := newWorld(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	ts := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(New(Options{Reader: withCheckpoint{w.c.App(), signedCheckpoint(t, ts)}}))
	defer srv.Close()
	w2 := &world{srv: srv}
	st, _, body := w2.get(t, "/log")
	for _, want := range []string{"ipledger/web-test", "witness.example", "2026-12-07 12:00:00 UTC", "<polyline", "ipledger audit --node"} {
		if st != 200 || !strings.Contains(body, want) {
			t.Errorf("/log: %d, no %q:\n%.3000s", st, want, body)
		}
	}
	srv2 := httptest.NewServer(New(Options{Reader: withCheckpoint{w.c.App(), []byte("garbage")}}))
	defer srv2.Close()
	if st, _, body := (&world{srv: srv2}).get(t, "/log"); st != 200 || !strings.Contains(body, "does not parse") {
		t.Errorf("/log with a bad checkpoint: %d\n%.2000s", st, body)
	}
}
