package cli

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// startWHOIS starts the WHOIS listener at sf.whois unless it is "off".
func (s *server) startWHOIS(ctx context.Context, sf serveFlags, reg prometheus.Registerer) error {
	return nil
}
