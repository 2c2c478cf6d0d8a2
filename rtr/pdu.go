// Package rtr is an RPKI-to-Router cache server: it serves a vrp.Set to routers over the
// RPKI-Router protocol, version 2 (draft-ietf-sidrops-8210bis-10, with ASPA PDUs, as StayRTR
// 0.5.1 speaks it), version 1 (RFC 8210) and version 0 (RFC 6810), with incremental
// updates from a ring of recent deltas and Serial Notify when the set changes. It also
// holds the protocol's PDU codec, used by the server and by clients in tests.
//
// The server encodes each version of the set once per serial into one byte slice of ready
// PDUs and writes it to every router that asks in large chunks, so a full sync costs a few
// system calls and concurrent syncs share the encoding.
package rtr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// Version is a protocol version: the first byte of every PDU.
type Version uint8

// Protocol versions.
const (
	Version0 Version = 0 // RFC 6810
	Version1 Version = 1 // RFC 8210
	Version2 Version = 2 // draft-ietf-sidrops-8210bis-10: version 1 and the ASPA PDU
)

// Type is a PDU type (RFC 8210 §5).
type Type uint8

// PDU types.
const (
	TypeSerialNotify  Type = 0
	TypeSerialQuery   Type = 1
	TypeResetQuery    Type = 2
	TypeCacheResponse Type = 3
	TypeIPv4Prefix    Type = 4
	TypeIPv6Prefix    Type = 6
	TypeEndOfData     Type = 7
	TypeCacheReset    Type = 8
	TypeRouterKey     Type = 9 // version 1 only
	TypeErrorReport   Type = 10
	TypeASPA          Type = 11 // version 2 only
)

var typeNames = [...]string{TypeSerialNotify: "Serial Notify", TypeSerialQuery: "Serial Query",
	TypeResetQuery: "Reset Query", TypeCacheResponse: "Cache Response", TypeIPv4Prefix: "IPv4 Prefix",
	TypeIPv6Prefix: "IPv6 Prefix", TypeEndOfData: "End of Data", TypeCacheReset: "Cache Reset",
	TypeRouterKey: "Router Key", TypeErrorReport: "Error Report", TypeASPA: "ASPA"}

func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "type " + strconv.Itoa(int(t))
}

// ErrorCode is the code of an Error Report (RFC 8210 §12).
type ErrorCode uint16

// Error codes. All are fatal (the connection is dropped) except NoDataAvailable.
const (
	CorruptData               ErrorCode = 0
	InternalError             ErrorCode = 1
	NoDataAvailable           ErrorCode = 2
	InvalidRequest            ErrorCode = 3
	UnsupportedVersion        ErrorCode = 4
	UnsupportedPDUType        ErrorCode = 5
	WithdrawalOfUnknownRecord ErrorCode = 6
	DuplicateAnnouncement     ErrorCode = 7
	UnexpectedVersion         ErrorCode = 8 // version 1 only
)

var errorNames = [...]string{"Corrupt Data", "Internal Error", "No Data Available", "Invalid Request",
	"Unsupported Protocol Version", "Unsupported PDU Type", "Withdrawal of Unknown Record",
	"Duplicate Announcement Received", "Unexpected Protocol Version"}

func (c ErrorCode) String() string {
	if int(c) < len(errorNames) {
		return errorNames[c]
	}
	return "error code " + strconv.Itoa(int(c))
}

// Fatal reports whether an Error Report with code c ends the connection (RFC 8210 §12:
// every code but No Data Available).
func (c ErrorCode) Fatal() bool { return c != NoDataAvailable }

// Sizes of the fixed-length PDUs.
const (
	headerLen         = 8
	lenSerial         = 12 // Serial Notify, Serial Query
	lenIPv4Prefix     = 20
	lenIPv6Prefix     = 32
	lenEndOfDataV0    = 12
	lenEndOfDataV1    = 24
	lenRouterKeyMin   = 8 + 20 + 4
	lenErrorReportMin = 16
	lenASPAMin        = 16 // and 4 bytes per provider
)

// MaxPDULen is the longest PDU Decode accepts: long enough for any Router Key or Error
// Report a peer has reason to send, short enough that a bogus length cannot make a reader
// buffer much.
const MaxPDULen = 1 << 16

// PDU is one protocol data unit: *SerialNotify, *SerialQuery, … *ErrorReport.
type PDU interface {
	// Type returns the PDU's type.
	Type() Type
	appendTo(b []byte, v Version) ([]byte, error)
}

// SerialNotify tells a router that the cache has data newer than its serial (RFC 8210 §5.2).
type SerialNotify struct {
	Session uint16
	Serial  uint32
}

// SerialQuery asks for the changes since Serial (RFC 8210 §5.3).
type SerialQuery struct {
	Session uint16
	Serial  uint32
}

// ResetQuery asks for the whole data set (RFC 8210 §5.4).
type ResetQuery struct{}

// CacheResponse starts the answer to a query (RFC 8210 §5.5).
type CacheResponse struct{ Session uint16 }

// Prefix announces or withdraws a VRP (RFC 8210 §5.6, §5.7): an IPv4 Prefix PDU for an
// IPv4 prefix, an IPv6 Prefix PDU otherwise.
type Prefix struct {
	Announce  bool
	Prefix    netip.Prefix
	MaxLength uint8
	ASN       uint32
}

// EndOfData ends the answer to a query with the cache's serial (RFC 8210 §5.8). The
// intervals, in seconds, exist in version 1 only: encoding drops them in version 0 and
// decoding leaves them zero.
type EndOfData struct {
	Session                uint16
	Serial                 uint32
	Refresh, Retry, Expire uint32
}

// CacheReset answers a Serial Query the cache cannot answer incrementally (RFC 8210 §5.9).
type CacheReset struct{}

// RouterKey announces or withdraws a BGPsec router key (RFC 8210 §5.10; version 1 only).
type RouterKey struct {
	Announce bool
	SKI      [20]byte
	ASN      uint32
	SPKI     []byte
}

// ASPA announces or withdraws the providers of a customer AS for one address family
// (draft-ietf-sidrops-8210bis-10 §5.12; version 2 only). On the wire, after the header
// (whose 16-bit field is zero): a flags byte (bit 0: announce), an AFI flags byte (bit 0:
// IPv6, else IPv4), the provider count (16 bits), the customer AS and the providers, 4
// bytes each — the layout StayRTR 0.5.1 and its rtrdump use. An announcement replaces the
// router's ASPA of the same customer and family.
type ASPA struct {
	Announce  bool
	IPv6      bool
	Customer  uint32
	Providers []uint32
}

// ErrorReport reports an error (RFC 8210 §5.11): the offending PDU, copied, and a text.
type ErrorReport struct {
	Code ErrorCode
	PDU  []byte
	Text string
}

func (*SerialNotify) Type() Type  { return TypeSerialNotify }
func (*SerialQuery) Type() Type   { return TypeSerialQuery }
func (*ResetQuery) Type() Type    { return TypeResetQuery }
func (*CacheResponse) Type() Type { return TypeCacheResponse }
func (*EndOfData) Type() Type     { return TypeEndOfData }
func (*CacheReset) Type() Type    { return TypeCacheReset }
func (*RouterKey) Type() Type     { return TypeRouterKey }
func (*ErrorReport) Type() Type   { return TypeErrorReport }
func (*ASPA) Type() Type          { return TypeASPA }

// Type is TypeIPv4Prefix or TypeIPv6Prefix by the prefix's family.
func (p *Prefix) Type() Type {
	if p.Prefix.Addr().Is4() {
		return TypeIPv4Prefix
	}
	return TypeIPv6Prefix
}

func header(b []byte, v Version, t Type, field uint16, length int) []byte {
	return append(b, byte(v), byte(t), byte(field>>8), byte(field), byte(length>>24), byte(length>>16), byte(length>>8), byte(length))
}

func (p *SerialNotify) appendTo(b []byte, v Version) ([]byte, error) {
	return binary.BigEndian.AppendUint32(header(b, v, TypeSerialNotify, p.Session, lenSerial), p.Serial), nil
}

func (p *SerialQuery) appendTo(b []byte, v Version) ([]byte, error) {
	return binary.BigEndian.AppendUint32(header(b, v, TypeSerialQuery, p.Session, lenSerial), p.Serial), nil
}

func (p *ResetQuery) appendTo(b []byte, v Version) ([]byte, error) {
	return header(b, v, TypeResetQuery, 0, headerLen), nil
}

func (p *CacheResponse) appendTo(b []byte, v Version) ([]byte, error) {
	return header(b, v, TypeCacheResponse, p.Session, headerLen), nil
}

func (p *CacheReset) appendTo(b []byte, v Version) ([]byte, error) {
	return header(b, v, TypeCacheReset, 0, headerLen), nil
}

func (p *Prefix) appendTo(b []byte, v Version) ([]byte, error) {
	a := p.Prefix.Addr()
	if !p.Prefix.IsValid() || int(p.MaxLength) < p.Prefix.Bits() || int(p.MaxLength) > a.BitLen() {
		return b, fmt.Errorf("rtr: cannot encode prefix %v with max length %d", p.Prefix, p.MaxLength)
	}
	flags := byte(0)
	if p.Announce {
		flags = 1
	}
	n := lenIPv6Prefix
	if a.Is4() {
		n = lenIPv4Prefix
	}
	b = header(b, v, p.Type(), 0, n)
	b = append(b, flags, byte(p.Prefix.Bits()), p.MaxLength, 0)
	if a.Is4() {
		a4 := a.As4()
		b = append(b, a4[:]...)
	} else {
		a16 := a.As16()
		b = append(b, a16[:]...)
	}
	return binary.BigEndian.AppendUint32(b, p.ASN), nil
}

func (p *EndOfData) appendTo(b []byte, v Version) ([]byte, error) {
	if v == Version0 {
		return binary.BigEndian.AppendUint32(header(b, v, TypeEndOfData, p.Session, lenEndOfDataV0), p.Serial), nil
	}
	b = header(b, v, TypeEndOfData, p.Session, lenEndOfDataV1)
	for _, x := range []uint32{p.Serial, p.Refresh, p.Retry, p.Expire} {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b, nil
}

func (p *RouterKey) appendTo(b []byte, v Version) ([]byte, error) {
	if v == Version0 {
		return b, errors.New("rtr: no Router Key PDU in version 0")
	}
	n := lenRouterKeyMin + len(p.SPKI)
	if n > MaxPDULen {
		return b, fmt.Errorf("rtr: router key of %d bytes", n)
	}
	flags := uint16(0)
	if p.Announce {
		flags = 1 << 8 // the flags byte comes first in the 16-bit header field
	}
	b = header(b, v, TypeRouterKey, flags, n)
	b = append(b, p.SKI[:]...)
	b = binary.BigEndian.AppendUint32(b, p.ASN)
	return append(b, p.SPKI...), nil
}

func (p *ErrorReport) appendTo(b []byte, v Version) ([]byte, error) {
	n := lenErrorReportMin + len(p.PDU) + len(p.Text)
	if n > MaxPDULen {
		return b, fmt.Errorf("rtr: error report of %d bytes", n)
	}
	b = header(b, v, TypeErrorReport, uint16(p.Code), n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.PDU)))
	b = append(b, p.PDU...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Text)))
	return append(b, p.Text...), nil
}

func (p *ASPA) appendTo(b []byte, v Version) ([]byte, error) {
	if v < Version2 {
		return b, fmt.Errorf("rtr: no ASPA PDU in version %d", v)
	}
	n := lenASPAMin + 4*len(p.Providers)
	if n > MaxPDULen {
		return b, fmt.Errorf("rtr: ASPA of %d providers", len(p.Providers))
	}
	b = header(b, v, TypeASPA, 0, n)
	b = append(b, aspaFlags(p.Announce, p.IPv6)...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Providers)))
	b = binary.BigEndian.AppendUint32(b, p.Customer)
	for _, a := range p.Providers {
		b = binary.BigEndian.AppendUint32(b, a)
	}
	return b, nil
}

func aspaFlags(announce, ipv6 bool) []byte {
	f := [2]byte{}
	if announce {
		f[0] = 1
	}
	if ipv6 {
		f[1] = 1
	}
	return f[:]
}

// Append appends p encoded in version v to b. It fails for what version v cannot carry
// (a Router Key in version 0, an ASPA below version 2), a Prefix whose max length is out
// of range, and PDUs longer than MaxPDULen.
func Append(b []byte, v Version, p PDU) ([]byte, error) {
	if v > Version2 {
		return b, fmt.Errorf("rtr: cannot encode version %d", v)
	}
	return p.appendTo(b, v)
}

// ErrShort is returned by Decode when b holds only the start of a PDU; check with
// errors.Is.
var ErrShort = errors.New("rtr: incomplete PDU")

// Error is a PDU that breaks the protocol, with the Error Report code that answers it.
type Error struct {
	Code ErrorCode
	Msg  string
}

func (e *Error) Error() string { return "rtr: " + e.Code.String() + ": " + e.Msg }

func protoErr(code ErrorCode, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Decode parses the PDU at the start of b and returns it, its version and its length. If
// b holds only part of a PDU it returns ErrShort; a PDU that breaks the protocol gives an
// *Error whose Code is the Error Report code that answers it: Unsupported Protocol Version
// (a version above 2), Unsupported PDU Type (an unknown type, a Router Key in version 0,
// an ASPA below version 2), Corrupt Data (a wrong length, a prefix longer than its family
// allows or longer than its max length, inconsistent Error Report lengths, an ASPA whose
// provider count disagrees with its length). Fields the RFCs call "zero" are not checked.
func Decode(b []byte) (p PDU, v Version, n int, err error) {
	if len(b) < headerLen {
		return nil, 0, 0, ErrShort
	}
	v, t := Version(b[0]), Type(b[1])
	field := binary.BigEndian.Uint16(b[2:4])
	length := binary.BigEndian.Uint32(b[4:8])
	if v > Version2 {
		return nil, v, 0, protoErr(UnsupportedVersion, "version %d", v)
	}
	want := 0 // fixed length, or 0 for variable
	switch t {
	case TypeSerialNotify, TypeSerialQuery:
		want = lenSerial
	case TypeResetQuery, TypeCacheResponse, TypeCacheReset:
		want = headerLen
	case TypeIPv4Prefix:
		want = lenIPv4Prefix
	case TypeIPv6Prefix:
		want = lenIPv6Prefix
	case TypeEndOfData:
		want = lenEndOfDataV1
		if v == Version0 {
			want = lenEndOfDataV0
		}
	case TypeRouterKey:
		if v == Version0 {
			return nil, v, 0, protoErr(UnsupportedPDUType, "Router Key in version 0")
		}
		if length < lenRouterKeyMin {
			return nil, v, 0, protoErr(CorruptData, "Router Key of length %d", length)
		}
	case TypeErrorReport:
		if length < lenErrorReportMin {
			return nil, v, 0, protoErr(CorruptData, "Error Report of length %d", length)
		}
	case TypeASPA:
		if v < Version2 {
			return nil, v, 0, protoErr(UnsupportedPDUType, "ASPA in version %d", v)
		}
		if length < lenASPAMin || length%4 != 0 {
			return nil, v, 0, protoErr(CorruptData, "ASPA of length %d", length)
		}
	default:
		return nil, v, 0, protoErr(UnsupportedPDUType, "PDU type %d", t)
	}
	if want != 0 && length != uint32(want) {
		return nil, v, 0, protoErr(CorruptData, "%v of length %d, want %d", t, length, want)
	}
	if length > MaxPDULen {
		return nil, v, 0, protoErr(CorruptData, "%v of length %d exceeds %d", t, length, MaxPDULen)
	}
	if uint32(len(b)) < length {
		return nil, v, 0, ErrShort
	}
	n = int(length)
	body := b[headerLen:n]
	switch t {
	case TypeSerialNotify:
		return &SerialNotify{Session: field, Serial: binary.BigEndian.Uint32(body)}, v, n, nil
	case TypeSerialQuery:
		return &SerialQuery{Session: field, Serial: binary.BigEndian.Uint32(body)}, v, n, nil
	case TypeResetQuery:
		return &ResetQuery{}, v, n, nil
	case TypeCacheResponse:
		return &CacheResponse{Session: field}, v, n, nil
	case TypeCacheReset:
		return &CacheReset{}, v, n, nil
	case TypeIPv4Prefix, TypeIPv6Prefix:
		p, err := decodePrefix(t, body)
		if err != nil {
			return nil, v, 0, err
		}
		return p, v, n, nil
	case TypeEndOfData:
		e := &EndOfData{Session: field, Serial: binary.BigEndian.Uint32(body)}
		if v >= Version1 {
			e.Refresh = binary.BigEndian.Uint32(body[4:])
			e.Retry = binary.BigEndian.Uint32(body[8:])
			e.Expire = binary.BigEndian.Uint32(body[12:])
		}
		return e, v, n, nil
	case TypeRouterKey:
		k := &RouterKey{Announce: field>>8&1 == 1, ASN: binary.BigEndian.Uint32(body[20:24]), SPKI: clone(body[24:])}
		copy(k.SKI[:], body[:20])
		return k, v, n, nil
	case TypeASPA:
		count := int(binary.BigEndian.Uint16(body[2:4]))
		if lenASPAMin+4*count != n {
			return nil, v, 0, protoErr(CorruptData, "ASPA of length %d with %d providers", n, count)
		}
		a := &ASPA{Announce: body[0]&1 == 1, IPv6: body[1]&1 == 1, Customer: binary.BigEndian.Uint32(body[4:8])}
		if count > 0 {
			a.Providers = make([]uint32, count)
			for i := range a.Providers {
				a.Providers[i] = binary.BigEndian.Uint32(body[8+4*i:])
			}
		}
		return a, v, n, nil
	}
	// Error Report: the two inner lengths must add up to the PDU's.
	el := binary.BigEndian.Uint32(body[:4])
	if el > uint32(len(body))-8 {
		return nil, v, 0, protoErr(CorruptData, "Error Report encapsulates %d bytes in %d", el, length)
	}
	rest := body[4+el:]
	tl := binary.BigEndian.Uint32(rest[:4])
	if tl != uint32(len(rest))-4 {
		return nil, v, 0, protoErr(CorruptData, "Error Report text length %d, %d bytes left", tl, len(rest)-4)
	}
	text := rest[4:]
	if !utf8.Valid(text) {
		return nil, v, 0, protoErr(CorruptData, "Error Report text is not UTF-8")
	}
	return &ErrorReport{Code: ErrorCode(field), PDU: clone(body[4 : 4+el]), Text: string(text)}, v, n, nil
}

func decodePrefix(t Type, body []byte) (*Prefix, error) {
	p := &Prefix{Announce: body[0]&1 == 1, MaxLength: body[2], ASN: binary.BigEndian.Uint32(body[len(body)-4:])}
	bits := int(body[1])
	var a netip.Addr
	if t == TypeIPv4Prefix {
		a = netip.AddrFrom4([4]byte(body[4:8]))
	} else {
		a = netip.AddrFrom16([16]byte(body[4:20]))
	}
	if bits > a.BitLen() || int(p.MaxLength) > a.BitLen() || int(p.MaxLength) < bits {
		return nil, protoErr(CorruptData, "%v with prefix length %d and max length %d", t, bits, p.MaxLength)
	}
	p.Prefix = netip.PrefixFrom(a, bits)
	if p.Prefix.Masked() != p.Prefix {
		return nil, protoErr(CorruptData, "%v %v has bits set beyond its length", t, p.Prefix)
	}
	return p, nil
}

// clone copies b, nil when empty.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
