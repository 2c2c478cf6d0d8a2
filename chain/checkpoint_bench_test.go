package chain

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// BenchmarkCheckpoints measures what signing a checkpoint after every block costs the
// node's block path: blocks of 250 assignments (a block's worth at 100 ms under load)
// through FinalizeBlock and Commit, with checkpoint signing off and on. Reports
// microseconds per block and transactions per second; the difference between the two is
// the signing (the consistency check against the last checkpoint, the note signature and
// storing it), per block.
func BenchmarkCheckpoints(b *testing.B) {
	const perBlock = 250
	for _, signing := range []bool{false, true} {
		name := "off"
		if signing {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			r, signers, height := benchSetup(b, perBlock)
			if signing {
				skey, vkey, err := note.GenerateKey(rand.Reader, "bench")
				if err != nil {
					b.Fatal(err)
				}
				s, _ := note.NewSigner(skey)
				v, _ := note.NewVerifier(vkey)
				r.app.cfg.LogSigner, r.app.cfg.LogVerifierKey, r.app.logVerifier = s, vkey, v
			}
			ctx := context.Background()
			txs := benchTxs(b, signers, b.N*perBlock, false)
			// Signatures are checked ahead, as CheckTx does on a validator: the block
			// path proper is what remains.
			r.PreVerify(txs)
			b.ResetTimer()
			for i := range b.N {
				height++
				if _, _, err := r.Apply(ctx, ReplayBlock{Height: height, Time: time.Date(2026, 3, 1, 0, 0, int(height), 0, time.UTC), Txs: txs[i*perBlock : (i+1)*perBlock]}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if signed := r.app.Checkpoint() != nil; signed != signing {
				b.Fatalf("checkpoint signed: %v", signed)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/block")
			b.ReportMetric(float64(b.N*perBlock)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}
