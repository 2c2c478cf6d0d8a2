// Package iana reads IANA's number registries and turns them into the genesis pools of the
// chain: who IANA gave each IPv4 /8, IPv6 unicast block and AS number block to, and which
// blocks are reserved for special purposes.
//
// The parsers read the XML registries exactly as IANA publishes them at
// https://www.iana.org/assignments/ (ipv4-address-space, ipv6-unicast-address-assignments,
// as-numbers and the three special-purpose registries). Load reads all six from a directory.
// The same facts are compiled into the binary (facts_gen.go, written by gen.go), so Default and
// DefaultPools work on a machine without the files; a test keeps the two in step.
//
// To refresh the compiled facts after IANA updates a registry, put the new files in the data
// directory ($IPLEDGER_DATA/iana, or ../shared/data/iana beside the repository) and run
// go generate ./iana/.
package iana

//go:generate go run gen.go
