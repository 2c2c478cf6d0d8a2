// Command ipledger runs and uses an ipledger node: a decentralised Internet number registry
// on a replicated ledger. See README.md, or run ipledger --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ipledger/ipledger/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
