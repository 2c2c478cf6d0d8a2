package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func initCmd(e *env) *cobra.Command {
	var o homeOptions
	var sf serveFlags
	var join string
	var jf joinFlags
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a node home: registry keys, validator key, genesis with IANA and the five RIRs",
		Args:  cobra.NoArgs,
		RunE: e.inHome(func(cmd *cobra.Command, _ []string, home string) error {
			cfg := &Config{}
			sf.store(cmd.Flags(), cfg)
			if join != "" {
				if err := joinHome(cmd.Context(), home, join, cfg, &jf); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created full node home %s for chain %s with peers %s\n", home, cfg.ChainID, cfg.Get("peers"))
				if ss := cfg.StateSync; ss != nil {
					fmt.Fprintf(e.stdout, "it will catch up from a state-sync snapshot, verified by a light client against RPC servers %s from the header it trusts: height %d, hash %s (as %s said; check it with another operator)\n",
						strings.Join(ss.RPCServers, ","), ss.TrustHeight, ss.TrustHash, ss.RPCServers[0])
				}
				fmt.Fprintf(e.stdout, "run it with: %s node --home %s\n", self(), shellWord(home))
				return nil
			}
			if err := createHome(home, o, cfg); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "created node home %s (chain %s)\nrun it with: %s node --home %s\n", home, o.chainID, self(), shellWord(home))
			return nil
		}),
	}
	jf.register(c.Flags())
	c.Flags().StringVar(&join, "join", "", "join an existing network as a non-validating full node: a genesis.json (give --peers) or a testnet.json (its nodes become the peers)")
	c.Flags().StringVar(&o.chainID, "chain-id", "ipledger-local", "chain id")
	c.Flags().StringVar(&o.ianaDir, "iana", "", "build genesis pools from IANA registry files in this directory instead of the compiled facts")
	sf.register(c.Flags())
	return c
}

func nodeCmd(e *env) *cobra.Command {
	var sf serveFlags
	c := &cobra.Command{
		Use:   "node",
		Short: "Run the node in --home with its listeners",
		Args:  cobra.NoArgs,
		RunE: e.inHome(func(cmd *cobra.Command, _ []string, home string) error {
			if !homeExists(home) {
				return fmt.Errorf("%s holds no node; create one with: ipledger init --home %s", home, home)
			}
			cfg, err := loadConfig(home)
			if err != nil {
				return err
			}
			if err := sf.resolve(cmd.Flags(), cfg); err != nil {
				return err
			}
			log := e.logger()
			s, err := startServer(cmd.Context(), home, sf, log)
			if err != nil {
				return err
			}
			return s.wait(cmd.Context())
		}),
	}
	sf.register(c.Flags())
	return c
}

func devCmd(e *env) *cobra.Command {
	var sf serveFlags
	var imports []string
	var strict, mixed bool
	c := &cobra.Command{
		Use:   "dev",
		Short: "Run a single-validator chain with IANA and the five RIRs (a temp home unless --home), optionally importing delegated statistics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := e.logger()
			home, temp := e.home, e.home == ""
			if temp {
				d, err := os.MkdirTemp("", "ipledger-dev-")
				if err != nil {
					return fmt.Errorf("temporary home: %w", err)
				}
				home = d
				// Only the home made here goes, never one the user named.
				defer func() {
					if err := os.RemoveAll(home); err != nil {
						log.Warn("removing the temporary home", "home", home, "err", err)
						return
					}
					log.Info("removed the temporary home", "home", home)
				}()
			}
			sf.dev = true
			cfg := &Config{ChainID: "ipledger-dev"}
			resumed := homeExists(home)
			if resumed {
				c, err := loadConfig(home)
				if err != nil {
					return err
				}
				cfg = c
				log.Info("resuming dev chain", "home", home)
			} else {
				if err := createHome(home, homeOptions{chainID: cfg.ChainID}, cfg); err != nil {
					return err
				}
				log.Info("created dev chain", "home", home, "chain", cfg.ChainID)
			}
			if err := sf.resolve(cmd.Flags(), cfg); err != nil {
				return err
			}
			// The demo goes on a fresh home: before the API opens, or after an import,
			// in the space the import left free.
			demo := !resumed && !sf.noDemo
			if demo && len(imports) == 0 {
				sf.beforeHTTP = func(ctx context.Context, s *server) { runDemo(ctx, s, home, cfg.ChainID, log) }
			}
			s, err := startServer(cmd.Context(), home, sf, log)
			if err != nil {
				return err
			}
			note := ""
			if temp {
				note = " (temporary: removed when this stops; --home DIR keeps a chain)"
			}
			fmt.Fprintf(e.stdout, "ipledger dev chain %s running; home %s%s\n", cfg.ChainID, home, note)
			if s.addr != "" {
				fmt.Fprintf(e.stdout, "JSON API: http://%s/v1/status   CLI: %s --home %s query status --node http://%s\n",
					s.addr, self(), shellWord(home), s.addr)
			}
			if len(imports) > 0 {
				keys, err := registryKeys(home, false)
				if err == nil {
					err = runImport(cmd.Context(), localSubmitter{s.node}, importJob{keys: keys, chainID: cfg.ChainID, paths: imports, strict: strict, mixedDates: mixed, out: e.stdout, progress: e.stderr})
				}
				if err != nil {
					s.stop()
					return err
				}
			}
			if demo && len(imports) > 0 {
				runDemo(cmd.Context(), s, home, cfg.ChainID, log)
			}
			return s.wait(cmd.Context())
		},
	}
	sf.register(c.Flags())
	c.Flags().StringSliceVar(&imports, "import", nil, "delegated statistics files or date folders to import after start (one date per fresh chain)")
	c.Flags().BoolVar(&strict, "strict", false, "with --import, fail on the first flaw in the data")
	c.Flags().BoolVar(&mixed, "mixed-dates", false, "with --import, import files whose dates lie more than a week apart together")
	return c
}

// self is selfCommand of this process.
func self() string {
	wd, _ := os.Getwd()
	return selfCommand(os.Args[0], wd)
}

// selfCommand returns the command that runs this program again from directory wd, for the
// next steps it prints: under `go run` (a binary in go's build cache, .../go-build…/exe/)
// "go run ./cmd/ipledger" in the module's root, else go run of the package path; else the
// program as invoked, a name looked up in PATH or a path.
func selfCommand(arg0, wd string) string {
	dir := filepath.Dir(arg0)
	if filepath.Base(dir) == "exe" && strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(dir))), "go-build") {
		if _, err := os.Stat(filepath.Join(wd, "cmd", "ipledger", "main.go")); err == nil {
			return "go run ./cmd/ipledger"
		}
		pkg := "github.com/ipledger/ipledger/cmd/ipledger"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" && bi.Path != "command-line-arguments" && strings.HasSuffix(bi.Path, "/cmd/ipledger") {
			pkg = bi.Path
		}
		return "go run " + pkg
	}
	if arg0 == "" {
		return "ipledger"
	}
	return shellWord(arg0)
}
