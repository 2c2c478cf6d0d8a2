package whois

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
)

// parseKey reads an address, prefix, range or AS number in the forms people and the RIPE
// Database write them: "192.0.2.1", "192.0.2.0/24" (host bits are dropped),
// "192.0.2.0 - 192.0.2.255", "AS64496", "AS64496 - AS64511".
func parseKey(k string) (ipledger.Resource, bool) {
	k = strings.ReplaceAll(k, " ", "")
	if k == "" {
		return ipledger.Resource{}, false
	}
	if strings.Contains(k, "/") {
		// A prefix with host bits set means the network it is written in.
		p, err := netip.ParsePrefix(k)
		if err != nil {
			return ipledger.Resource{}, false
		}
		res, err := ipledger.PrefixResource(p.Masked())
		return res, err == nil
	}
	res, err := ipledger.ParseResource(k)
	return res, err == nil
}

// holdingID reads a holding handle, "IPL-H42" in any case.
func holdingID(key string) (uint64, bool) {
	n, ok := strings.CutPrefix(key, "IPL-H")
	if !ok || n == "" || n[0] == '0' {
		return 0, false
	}
	id, err := strconv.ParseUint(n, 10, 64)
	return id, err == nil
}

// keyText writes a resource as a key to type into another WHOIS client: a single address
// without its /32 or /128.
func keyText(res ipledger.Resource) string {
	if n, ok := res.Size(); ok && n == 1 && res.Family() != ipledger.ASN {
		return res.FirstAddr().String()
	}
	return res.String()
}
