package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger/witness"
)

// defaultWitnessAddr is the witness's listen address (litewitness's port, on loopback).
const defaultWitnessAddr = "127.0.0.1:7380"

func witnessCmd(e *env) *cobra.Command {
	var listen, dir, name string
	var logs []string
	var showKey bool
	c := &cobra.Command{
		Use:   "witness",
		Short: "Run a transparency log witness (C2SP tlog-witness) cosigning the checkpoints of the logs given with --log",
		Long: `Run a transparency log witness (C2SP tlog-witness): POST /add-checkpoint cosigns a
checkpoint (cosignature/v1, Ed25519) once it is signed by its log's key and consistent
with the last checkpoint cosigned for that log; /metrics serves Prometheus metrics.

The witness key and the last cosigned checkpoint of each log live in --dir; the key is
created on first use (named --name). Show its verifier key, to give to nodes as
--witness URL=VKEY, with: ipledger witness --dir DIR --show-key

A node's log origin is ipledger/<chain id>; its key is at GET /v1/log/key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			if showKey {
				s, err := witness.LoadOrCreateKey(dir, name)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, s.VerifierKey())
				return nil
			}
			follow := map[string]string{}
			for _, l := range logs {
				origin, vkey, err := witness.ParseLogFlag(l)
				if err != nil {
					return fmt.Errorf("--log: %w", err)
				}
				follow[origin] = vkey
			}
			if len(follow) == 0 {
				return errors.New("give at least one --log ORIGIN=VKEY")
			}
			return runWitness(cmd.Context(), e, listen, witness.Options{Dir: dir, Name: name, Logs: follow})
		},
	}
	c.Flags().StringVar(&listen, "listen", defaultWitnessAddr, "HTTP listen address")
	c.Flags().StringVar(&dir, "dir", "", "directory of the witness key and state (created if missing)")
	c.Flags().StringVar(&name, "name", "", "name of the witness key when it is created (default ipledger-witness-<random>)")
	c.Flags().StringArrayVar(&logs, "log", nil, "a log to witness, as ORIGIN=VKEY (its checkpoint origin and note verifier key); repeatable")
	c.Flags().BoolVar(&showKey, "show-key", false, "print the witness's verifier key (creating the key if needed) and exit")
	return c
}

// runWitness serves the witness until ctx ends.
func runWitness(ctx context.Context, e *env, listen string, o witness.Options) error {
	log := e.logger()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	o.Logger, o.Registry = log, reg
	w, err := witness.Open(o)
	if err != nil {
		return err
	}
	defer w.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("witness listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /add-checkpoint", w.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	origins := make([]string, 0, len(o.Logs))
	for origin := range o.Logs {
		origins = append(origins, origin)
	}
	log.Info("witness serving", "addr", ln.Addr().String(), "key", w.VerifierKey(), "logs", origins)
	select {
	case err := <-errc:
		return fmt.Errorf("witness server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
