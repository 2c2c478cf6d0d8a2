// Package vrp holds route origin authorisations as routers consume them: Validated ROA
// Payloads (RFC 6811 §2), BGPsec router keys (RFC 8210 §5.10) and ASPAs
// (draft-ietf-sidrops-aspa-profile), in an immutable, sorted,
// deduplicated Set that is compact enough to hold the global RPKI (700,000+ VRPs in about
// 14 MB) and cheap to diff. It reads and writes rpki-client's JSON output, and reads and
// applies SLURM local exceptions (RFC 8416).
//
// The identity of a VRP is its prefix, maximum length and origin AS; of a router key, its
// AS, SKI and public key. A Set holds each identity once, keeping the entry that expires
// last; Diff compares identities only, as RTR does.
package vrp

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// VRP is a Validated ROA Payload: AS ASN may originate Prefix and its more-specifics up to
// MaxLength bits. The zero VRP is not valid (its Prefix is invalid).
type VRP struct {
	Prefix    netip.Prefix // masked: no bits set beyond the prefix length
	MaxLength uint8        // from Prefix.Bits() to 32 (IPv4) or 128 (IPv6)
	ASN       uint32       // 0 is AS0: the prefix may not be originated (RFC 6483 §4)
	// Expires is when the VRP stops being valid (its ROA's or a certificate's notAfter);
	// the zero Time means no expiry is known. Sets keep whole seconds from 1970 to 2106.
	Expires time.Time
	// Source names where the VRP comes from: a trust anchor ("ripe", "apnic", …), or
	// "ledger", or "slurm". Empty if unknown.
	Source string
}

// Validate reports why v cannot be served, or nil: an invalid or unmasked prefix, or a
// maximum length outside [prefix length, address length].
func (v VRP) Validate() error {
	if !v.Prefix.IsValid() {
		return fmt.Errorf("invalid prefix")
	}
	if v.Prefix.Addr().Zone() != "" {
		return fmt.Errorf("prefix %s has a zone", v.Prefix)
	}
	if v.Prefix.Masked() != v.Prefix {
		return fmt.Errorf("prefix %s has bits set beyond its length (want %s)", v.Prefix, v.Prefix.Masked())
	}
	if int(v.MaxLength) < v.Prefix.Bits() || int(v.MaxLength) > v.Prefix.Addr().BitLen() {
		return fmt.Errorf("maxLength %d outside %d..%d for %s", v.MaxLength, v.Prefix.Bits(), v.Prefix.Addr().BitLen(), v.Prefix)
	}
	return nil
}

// String formats v's identity as "192.0.2.0/24-24 AS64496".
func (v VRP) String() string {
	return v.Prefix.String() + "-" + strconv.Itoa(int(v.MaxLength)) + " AS" + strconv.FormatUint(uint64(v.ASN), 10)
}

// Compare orders VRPs by identity as rpki-client writes them: IPv4 before IPv6, then by
// address, then the longer prefix first, then the higher maximum length first, then by AS.
// It returns 0 for VRPs with the same identity whatever their expiry and source.
func (v VRP) Compare(o VRP) int {
	if c := v.Prefix.Addr().Compare(o.Prefix.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(o.Prefix.Bits(), v.Prefix.Bits()); c != 0 {
		return c
	}
	if c := cmp.Compare(o.MaxLength, v.MaxLength); c != 0 {
		return c
	}
	return cmp.Compare(v.ASN, o.ASN)
}

// RouterKey is a BGPsec router key (RFC 8210 §5.10, RFC 8635): routers of AS ASN sign
// with the key whose Subject Key Identifier is SKI and whose DER SubjectPublicKeyInfo is
// SPKI. The zero RouterKey is not valid.
type RouterKey struct {
	ASN     uint32
	SKI     [20]byte
	SPKI    string    // DER bytes; a string so that RouterKey is comparable
	Expires time.Time // zero: not known
	Source  string
}

// Validate reports why k cannot be served, or nil: an empty SPKI, or one too long for a
// Router Key PDU.
func (k RouterKey) Validate() error {
	if len(k.SPKI) == 0 {
		return fmt.Errorf("router key of AS%d has no public key", k.ASN)
	}
	if len(k.SPKI) > maxSPKI {
		return fmt.Errorf("router key of AS%d: public key of %d bytes (at most %d)", k.ASN, len(k.SPKI), maxSPKI)
	}
	return nil
}

// maxSPKI bounds a router key's SubjectPublicKeyInfo (an ECDSA P-256 key is 91 bytes).
const maxSPKI = 1 << 12

// String formats k's identity as "AS64496 SKI 5D42…E2".
func (k RouterKey) String() string {
	return "AS" + strconv.FormatUint(uint64(k.ASN), 10) + " SKI " + hexUpper(k.SKI[:])
}

// Compare orders router keys by identity: AS, SKI, then public key.
func (k RouterKey) Compare(o RouterKey) int {
	if c := cmp.Compare(k.ASN, o.ASN); c != 0 {
		return c
	}
	if c := bytes.Compare(k.SKI[:], o.SKI[:]); c != 0 {
		return c
	}
	return cmp.Compare(k.SPKI, o.SPKI)
}

func hexUpper(b []byte) string {
	return string(bytes.ToUpper([]byte(hex.EncodeToString(b))))
}

// unixExpiry converts an expiry time to the stored form: 0 for none, else whole seconds
// clamped to [1, 2^32-1].
func unixExpiry(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	u := t.Unix()
	switch {
	case u < 1:
		return 1
	case u > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(u)
}

func expiryTime(u uint32) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(int64(u), 0).UTC()
}
