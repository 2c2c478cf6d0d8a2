package chain

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger/ipledgertest"
)

// withSigner makes the replayed application sign checkpoints with s, as a node does.
func withSigner(r *Replayer, s note.Signer, vkey string, logs *ipledgertest.LockedBuffer, reg *prometheus.Registry) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	r.app.cfg.LogSigner, r.app.cfg.LogVerifierKey, r.app.logVerifier = s, vkey, v
	r.app.log = slogTo(logs)
	r.app.m = NewMetrics(reg)
}

// TestCheckpointRefusal gives a node a stored last checkpoint, signed with its own key,
// that its log contradicts — a split view: another root for the same size, a larger tree,
// a smaller tree that is not a prefix — or one its key did not sign. At the next block it
// must refuse to sign, for good, and say why; an older checkpoint of its own log is fine.
func TestCheckpointRefusal(t *testing.T) {
	ctx := context.Background()
	blocks := detBlocks()
	signer, vkey := testLogKey(t, "refusal-test")
	other, _ := testLogKey(t, "refusal-test")

	base := t.TempDir()
	r := testReplayer(t, base, "det-chain")
	var logs ipledgertest.LockedBuffer
	withSigner(r, signer, vkey, &logs, prometheus.NewRegistry())
	applyBlocks(t, r, blocks[:20])
	size, root := r.App().LogSize()
	if r.App().Checkpoint() == nil {
		t.Fatal("no checkpoint signed")
	}
	old, err := r.App().Block(10)
	if err != nil || old == nil || old.LogSize == 0 || old.LogSize >= size-3 {
		t.Fatalf("block 10: %+v %v", old, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// The log after the next block, which the node checks the stored checkpoint against.
	pr := openCopy(t, base, "det-chain")
	if _, _, err := pr.Apply(ctx, blocks[20]); err != nil {
		t.Fatal(err)
	}
	next, nextRoot := pr.App().LogSize()
	if err := pr.Close(); err != nil {
		t.Fatal(err)
	}

	sign := func(s note.Signer, size uint64, root []byte) []byte {
		b, err := note.Sign(&note.Note{Text: string(tlogfmt.Checkpoint{Origin: LogOrigin("det-chain"), Size: size, Hash: root}.Marshal())}, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	forged := sha256.Sum256([]byte("another history"))
	for _, c := range []struct {
		name string
		cp   []byte
		want string // in the refusal; "" signs
	}{
		{"an older checkpoint of this log", sign(signer, old.LogSize, old.LogRoot), ""},
		{"same size, other root", sign(signer, next, forged[:]), "log of size " + itoa(next) + " has root"},
		{"larger than the log", sign(signer, next+5, forged[:]), "log of size " + itoa(next) + " is smaller than the " + itoa(next+5) + " already signed"},
		{"smaller, not a prefix", sign(signer, size-3, forged[:]), fmt.Sprintf("log of size %d (root %x) is not an extension of the signed checkpoint of size %d (root %x)", next, nextRoot, size-3, forged)},
		{"signed by another key", sign(other, size, root), "the last signed checkpoint does not verify"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := openCopy(t, base, "det-chain")
			// What an insider, or a node that signed another history for someone else,
			// leaves as the last checkpoint.
			b := r.st.NewSideBatch()
			if err := b.Set([]byte{sideCheckpoint}, c.cp); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(true); err != nil {
				t.Fatal(err)
			}
			r.app.checkpoint.Store(&c.cp)
			var logs ipledgertest.LockedBuffer
			reg := prometheus.NewRegistry()
			withSigner(r, signer, vkey, &logs, reg)
			for _, blk := range blocks[20:22] { // the refusal at the first, and it holds
				if _, _, err := r.Apply(ctx, blk); err != nil {
					t.Fatalf("height %d: %v", blk.Height, err)
				}
			}
			after, _ := r.App().LogSize()
			got := string(r.App().Checkpoint())
			t.Logf("%s", logs.String())
			if c.want == "" {
				if !strings.Contains(got, "\n"+itoa(after)+"\n") || logs.String() != "" {
					t.Fatalf("checkpoint after the old one:\n%s\nlogs: %s", got, logs.String())
				}
				return
			}
			if got != string(c.cp) {
				t.Fatalf("the node signed a new checkpoint over a contradicting one:\n%s", got)
			}
			if n := strings.Count(logs.String(), "refusing to sign checkpoints"); n != 1 || !strings.Contains(logs.String(), c.want) {
				t.Fatalf("want one refusal saying %q, got:\n%s", c.want, logs.String())
			}
			if gauge(t, reg, "ipledger_log_checkpoint_refused") != 1 {
				t.Fatal("refusal metric not set")
			}
		})
	}
}
