package rdap

import (
	"fmt"
	"net/netip"
	"strings"
)

// CheckPort43 reports whether host can be an object's port43 member: RFC 9083 §4.7 makes
// it "the fully qualified host name or IP address of the WHOIS server", not a URI, so no
// scheme, no port (WHOIS is port 43 by definition) and no brackets. A host name is
// dot-separated labels of letters, digits and hyphens, 1 to 63 characters each, neither
// starting nor ending with a hyphen, at most 253 characters in all, with a last label that
// is not all digits (RFC 1123 §2.1, RFC 3696 §2); one trailing dot is allowed. The empty
// string is accepted: no port43 member.
func CheckPort43(host string) error {
	if host == "" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("port43 %q: an address with a zone is not reachable from elsewhere", host)
		}
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) == 0 || len(name) > 253 {
		return fmt.Errorf("port43 %q: want a host name of 1 to 253 characters or an IP address, without a port", host)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if !ldhLabel(l) {
			return fmt.Errorf("port43 %q: want a host name (letters, digits, hyphens and dots) or an IP address, without scheme or port (RFC 9083 §4.7)", host)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("port43 %q: neither an IP address nor a host name (its last label is all digits)", host)
	}
	return nil
}

// ldhLabel reports whether l is a DNS label of letters, digits and inner hyphens.
func ldhLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
