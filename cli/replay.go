package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger/chain"
)

// replayCmd re-executes blocks from a file through a fresh application, without
// consensus, and prints each height's app hash: two runs in separate processes must print
// the same lines.
func replayCmd(e *env) *cobra.Command {
	var genesisPath, blocksPath, dir string
	c := &cobra.Command{
		Use:    "replay",
		Short:  "Re-execute blocks (JSON lines of {height,time,txs}) from genesis and print each app hash",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := types.GenesisDocFromFile(genesisPath)
			if err != nil {
				return err
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "ipledger-replay-"); err != nil {
					return err
				}
				defer os.RemoveAll(dir)
			}
			r, err := chain.NewReplayerFromGenesis(cmd.Context(), dir, doc)
			if err != nil {
				return err
			}
			defer r.Close()
			f, err := os.Open(blocksPath)
			if err != nil {
				return err
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			w := bufio.NewWriter(e.stdout)
			defer w.Flush()
			for sc.Scan() {
				var b chain.ReplayBlock
				if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
					return fmt.Errorf("blocks: %w", err)
				}
				hash, codes, err := r.Apply(cmd.Context(), b)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%d %X %v\n", b.Height, hash, codes)
			}
			return sc.Err()
		},
	}
	c.Flags().StringVar(&genesisPath, "genesis", "", "CometBFT genesis file")
	c.Flags().StringVar(&blocksPath, "blocks", "", "blocks file")
	c.Flags().StringVar(&dir, "dir", "", "store directory (default: a temp dir, removed after)")
	return c
}
