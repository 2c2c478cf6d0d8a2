package chain

import (
	"context"
	"crypto/rand"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
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
			if b.N > 256 {
				b.Fatal("at most 256 blocks: each organisation assigns the /28s of its /20")
			}
			ctx := context.Background()
			seq := make([]uint64, len(signers))
			txs := make([][]byte, b.N*perBlock)
			for i := range txs {
				o := i % len(signers)
				k := i / len(signers)
				seq[o]++
				sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{193, byte(o >> 4), byte(o&15)<<4 | byte(k>>4&15), byte(k&15) << 4}), 28)
				res, _ := ipledger.PrefixResource(sub)
				var err error
				txs[i], err = ipledger.BuildTx("bench-chain", ipledger.KindAssign, seq[o], 0,
					ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: res, Org: signers[(o+1)%len(signers)].Org, Status: ipledger.StatusAssignedPA}}}, signers[o])
				if err != nil {
					b.Fatal(err)
				}
			}
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
