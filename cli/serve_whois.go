package cli

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger/whois"
)

// startWHOIS starts the WHOIS listener at sf.whois unless it is "off" or empty: RFC 3912
// over the node's last committed state.
func (s *server) startWHOIS(ctx context.Context, sf serveFlags, reg prometheus.Registerer) error {
	if sf.whois == "off" || sf.whois == "" {
		return nil
	}
	// The capped listener closes a flood's connections silently; the server's own caps,
	// within it, answer a client over them with %ERROR:306.
	srv, err := whois.New(whois.Options{Source: s.node.App(), Logger: s.log, Registerer: reg, Trusted: s.guard.trusted,
		MaxConns: s.guard.budget.Conns(listenWHOIS)})
	if err != nil {
		return err
	}
	ln, err := s.guard.listen(ctx, listenWHOIS, sf.whois)
	if err != nil {
		return err
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
