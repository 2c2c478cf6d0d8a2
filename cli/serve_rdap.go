package cli

import (
	"fmt"
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
	port43     string // --whois-public-host
}

// register adds the RDAP flags; like every flag, each also reads IPLEDGER_<FLAG>.
func (f *rdapFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.baseURL, "rdap-base-url", "", "public URL of the RDAP service, e.g. https://rdap.example.net/rdap/ (default: from each request's Host)")
	fs.Float64Var(&f.rate, "rdap-rate-limit", rdap.DefaultRateLimit, "RDAP requests per second per client (IPv4 address or IPv6 /64); negative turns the limit off")
	fs.IntVar(&f.burst, "rdap-rate-burst", rdap.DefaultRateBurst, "RDAP requests a client may make at once")
	fs.IntVar(&f.maxResults, "rdap-max-results", rdap.DefaultMaxResults, "objects in one RDAP search answer")
	fs.StringVar(&f.port43, "whois-public-host", "", "public host name (or IP address, no port) of this registry's WHOIS service, given as port43 in every RDAP object (RFC 9083 §4.7); default: none")
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

// check refuses flag values the RDAP service would refuse, before the node starts.
func (f *rdapFlags) check() error {
	if err := rdap.CheckPort43(f.port43); err != nil {
		return fmt.Errorf("--whois-public-host: %w", err)
	}
	return nil
}
