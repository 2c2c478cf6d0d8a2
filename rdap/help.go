package rdap

// help answers help: what this server serves.
func (rc *request) help() any {
	b := rc.base
	return &helpBody{top: top{Conformance: conformance, Notices: append([]notice{{
		Title: "Help",
		Description: []string{
			"This RDAP service answers for the Internet number resources kept on an ipledger ledger (RFC 7480, 9082, 9083, 9910; NRO RDAP profile; cidr0).",
			"Lookups: ip/<address>, ip/<prefix>/<length>, autnum/<number>, entity/<handle>. Networks and autnums carry the handle of their holding (IPL-H<id>); the name of a network is the handle of its holder.",
			"Searches (one * wildcard): ips?handle= or ?name=, autnums?handle= or ?name=, entities?fn= or ?handle=. Relation searches: ips/rirSearch1/rdap-{up,down,top,bottom}/<address or prefix>, autnums/rirSearch1/rdap-{up,down,top,bottom}/<number>.",
			"Space of a registry whose records are not on the ledger yet is redirected to that registry's own RDAP service. The RFC 9224 bootstrap files under bootstrap/ list the space this service is authoritative for.",
			"Each object links (rel related) to its history in the ledger's JSON API, where every change is a signed transaction in a committed block, and to a state proof of its record: a Merkle proof from the ledger's state root to the app hash that the validators signed in the next block header.",
		},
		Links: []link{
			{Value: b + "help", Rel: "self", Href: b + "help", Type: contentType},
			{Value: b + "help", Rel: "related", Href: b + "bootstrap/ipv4.json", Type: "application/json", Title: "RFC 9224 bootstrap file, IPv4"},
			{Value: b + "help", Rel: "related", Href: b + "bootstrap/ipv6.json", Type: "application/json", Title: "RFC 9224 bootstrap file, IPv6"},
			{Value: b + "help", Rel: "related", Href: b + "bootstrap/asn.json", Type: "application/json", Title: "RFC 9224 bootstrap file, AS numbers"},
		},
	}}, rc.notices(nil)...)}}
}
