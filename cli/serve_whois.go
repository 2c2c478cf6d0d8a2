package cli

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger/whois"
)

// startWHOIS starts the WHOIS listener at sf.whois unless it is "off" or empty: RFC 3912
// over the node's last committed state.
func (s *server) startWHOIS(ctx context.Context, sf serveFlags, reg prometheus.Registerer) error {
	if sf.whois == "off" || sf.whois == "" {
		return nil
	}
	srv, err := whois.New(whois.Options{Source: s.node.App(), Logger: s.log, Registerer: reg})
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", sf.whois)
	if err != nil {
		return fmt.Errorf("whois listener: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, whois.ErrServerClosed) {
			s.log.Error("whois server", "err", err)
		}
	}()
	s.log.Info("serving WHOIS", "addr", ln.Addr().String())
	s.closers = append(s.closers, srv.Close)
	return nil
}
