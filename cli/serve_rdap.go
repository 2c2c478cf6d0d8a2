package cli

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger/rdap"
)

// rdapFlags are the RDAP service's settings beyond the HTTP listener it shares.
type rdapFlags struct {
	baseURL    string
	rate       float64
	burst      int
	maxResults int
	port43     string // --whois-public-host
}

// mountRDAP adds the RDAP service under /rdap/ to m.
func (s *server) mountRDAP(m map[string]http.Handler, sf serveFlags, reg prometheus.Registerer) error {
	f := sf.rdapOpts
	h, err := rdap.New(rdap.Options{
		Source: s.node.App(), Logger: s.log, Registerer: reg,
		BaseURL: f.baseURL, RateLimit: f.rate, RateBurst: f.burst, MaxResults: f.maxResults, Port43: f.port43,
	})
	if err != nil {
		return err
	}
	m[rdap.Prefix] = h
	return nil
}
