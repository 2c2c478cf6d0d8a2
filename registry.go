package ipledger

// Registry is what the ledger knows of a registry of genesis, IANA or one of the RIRs,
// beyond its handle: what a new chain's genesis records of it, and where its own services
// are.
type Registry struct {
	// Handle is its ledger handle: one of Registries, "RIPE-NCC" say.
	Handle string
	// Name is its full name, as its own records give it ("RIPE Network Coordination
	// Centre"); Country the ISO 3166 alpha-2 code of the country of its seat ("NL").
	Name, Country string
	// WHOIS is the host of an RIR's own WHOIS service (port 43) and RDAP the base URL of
	// its RDAP service, the https URL IANA's bootstrap registry (RFC 9224) lists for its
	// space: where lookups of space it does not yet manage on the ledger are referred.
	// Both are empty for IANA, whose space the ledger holds from genesis.
	WHOIS, RDAP string
}

// registries are the facts of Registries, in that order.
var registries = []Registry{
	{Handle: IANA, Name: "Internet Assigned Numbers Authority", Country: "US"},
	{Handle: AFRINIC, Name: "African Network Information Centre", Country: "MU",
		WHOIS: "whois.afrinic.net", RDAP: "https://rdap.afrinic.net/rdap/"},
	{Handle: APNIC, Name: "Asia Pacific Network Information Centre", Country: "AU",
		WHOIS: "whois.apnic.net", RDAP: "https://rdap.apnic.net/"},
	{Handle: ARIN, Name: "American Registry for Internet Numbers", Country: "US",
		WHOIS: "whois.arin.net", RDAP: "https://rdap.arin.net/registry/"},
	{Handle: LACNIC, Name: "Latin American and Caribbean Internet Addresses Registry", Country: "UY",
		WHOIS: "whois.lacnic.net", RDAP: "https://rdap.lacnic.net/rdap/"},
	{Handle: RIPENCC, Name: "RIPE Network Coordination Centre", Country: "NL",
		WHOIS: "whois.ripe.net", RDAP: "https://rdap.db.ripe.net/"},
}

// RegistryOf returns what is known of the registry handle, and false if handle is not one
// of Registries (the zero Registry then).
func RegistryOf(handle string) (Registry, bool) {
	for _, r := range registries {
		if r.Handle == handle {
			return r, true
		}
	}
	return Registry{}, false
}
