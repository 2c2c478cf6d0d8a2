package cli

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger/rdap"
)

// rdapFlags are the RDAP service's settings beyond the HTTP listener it shares.
type rdapFlags struct {
	baseURL    string
	rate       float64
	burst      int
	maxResults int
}

// register adds the RDAP flags; like every flag, each also reads IPLEDGER_<FLAG>.
func (f *rdapFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.baseURL, "rdap-base-url", "", "public URL of the RDAP service, e.g. https://rdap.example.net/rdap/ (default: from each request's Host)")
	fs.Float64Var(&f.rate, "rdap-rate-limit", rdap.DefaultRateLimit, "RDAP requests per second per client (IPv4 address or IPv6 /64); negative turns the limit off")
	fs.IntVar(&f.burst, "rdap-rate-burst", rdap.DefaultRateBurst, "RDAP requests a client may make at once")
	fs.IntVar(&f.maxResults, "rdap-max-results", rdap.DefaultMaxResults, "objects in one RDAP search answer")
}

// mountRDAP adds the RDAP service under /rdap/ to m.
func (s *server) mountRDAP(m map[string]http.Handler, sf serveFlags, reg prometheus.Registerer) error {
	f := sf.rdapOpts
	h, err := rdap.New(rdap.Options{
		Source: s.node.App(), Logger: s.log, Registerer: reg,
		BaseURL: f.baseURL, RateLimit: f.rate, RateBurst: f.burst, MaxResults: f.maxResults,
	})
	if err != nil {
		return err
	}
	m[rdap.Prefix] = h
	return nil
}
