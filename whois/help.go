package whois

import (
	"fmt"
	"strings"
)

// info answers -q version, types and sources.
func (r *run) info() error {
	switch r.q.Info {
	case "version":
		r.comment("% whois-server-ipledger-" + Version)
	case "types":
		r.out.WriteString(strings.Join(servedTypes, "\n"))
		r.out.WriteString("\n\n")
	case "sources":
		var h int64
		if r.snap != nil {
			h = r.snap.Height
		}
		// RIPE's form: source:version:mirrored:first-last serial; serials are block heights.
		fmt.Fprintf(&r.out, "%s:3:N:1-%d\n\n", SourceName, h)
	}
	return nil
}

// Version is the WHOIS service's version, reported by -q version.
const Version = "1.0"

const helpText = `% ipledger WHOIS: RFC 3912, RIPE Database query flags.
%
% Keys: an IPv4 or IPv6 address, prefix or range; an AS number (AS64496) or range;
% an organisation handle; a ledger holding handle (IPL-H42); an abuse role (ORG-X-ABUSE).
%
% -x exact match             -l one level less specific   -L all less specific
% -m one level more specific -M all more specific         -b abuse contact only
% -r no referenced objects   -B no filtering (e-mail)     -K primary keys only
% -G no grouping             -T type[,type] object types  --resource resource objects only
% -i attr[,attr] inverse lookup on org, abuse-c or mnt-by
% -s IPLEDGER source         -k persistent connection (a bare -k closes it)
% -q version | types | sources
`
