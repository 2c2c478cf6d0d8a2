// Package cli implements the ipledger command: one file per subcommand, built on cobra, with
// flags resolved as flag, then environment IPLEDGER_<FLAG>, then the home's config file.
// cmd/ipledger only handles signals and calls Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
)

// Run executes the command line args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// IPLEDGER_CPUPROFILE=FILE writes a CPU profile of the whole run, for developers.
	if p := os.Getenv("IPLEDGER_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	// IPLEDGER_ALLOCPROFILE=FILE writes a profile of the run's allocations when it ends.
	if p := os.Getenv("IPLEDGER_ALLOCPROFILE"); p != "" {
		defer func() {
			if f, err := os.Create(p); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintln(stderr, "ipledger:", termText(err.Error())) // a node's message may hold escapes
		return 1
	}
	return 0
}

// exitError carries an exit code for a failure already reported.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// env holds what every subcommand shares.
type env struct {
	stdout, stderr io.Writer
	home           string
	logLevel       string
}

func (e *env) logger() *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(e.logLevel) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	h := slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl})
	// Libraries that print through the standard logger (CometBFT's databases replaying
	// their logs at start) go to debug level.
	log.SetFlags(0)
	log.SetOutput(slog.NewLogLogger(h, slog.LevelDebug).Writer())
	return slog.New(h)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "ipledger",
		Short:         "A decentralised Internet number registry with an IP leasing and trading market",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&e.home, "home", "", "node home directory (env IPLEDGER_HOME; default ~/.ipledger)")
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "info", "log level: debug, info, warn, error (env IPLEDGER_LOG_LEVEL)")
	lvl := root.PersistentFlags().Lookup("log-level")
	lvl.Value = checkedValue{Value: lvl.Value, check: func() error { return checkLogLevel(e.logLevel) }}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return applyEnv(cmd.Flags())
	}
	root.AddCommand(devCmd(e), initCmd(e), nodeCmd(e), testnetCmd(e), keyCmd(e), txCmd(e), queryCmd(e), importCmd(e), replayCmd(e), benchCmd(e), witnessCmd(e), auditCmd(e), walletCmd(e), observeCmd(e))
	return root
}

// homeDir returns the home flag, or ~/.ipledger.
func (e *env) homeDir() (string, error) {
	if e.home != "" {
		return e.home, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --home and no user home directory: %w", err)
	}
	return h + "/.ipledger", nil
}

// inHome returns a subcommand's RunE that finds the node home (homeDir) and then calls run
// with it.
func (e *env) inHome(run func(cmd *cobra.Command, args []string, home string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		home, err := e.homeDir()
		if err != nil {
			return err
		}
		return run(cmd, args, home)
	}
}

// userError formats an API or ledger error for the terminal.
func userError(err error) error {
	var le *ipledger.Error
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %s", le.Code, le.Message)
	}
	return err
}
