package rtr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func samplePDUs() []PDU {
	ski := [20]byte{0x5d, 0x42, 0x50, 0xe2, 19: 0xe2}
	return []PDU{
		&SerialNotify{Session: 0x1234, Serial: 0xdeadbeef},
		&SerialQuery{Session: 7, Serial: 42},
		&ResetQuery{},
		&CacheResponse{Session: 0xffff},
		&Prefix{Announce: true, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 28, ASN: 64496},
		&Prefix{Announce: false, Prefix: netip.MustParsePrefix("0.0.0.0/0"), MaxLength: 32, ASN: 0},
		&Prefix{Announce: true, Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 48, ASN: 4200000000},
		&Prefix{Announce: false, Prefix: netip.MustParsePrefix("2001:db8::1/128"), MaxLength: 128, ASN: 1},
		&EndOfData{Session: 9, Serial: 10, Refresh: 3600, Retry: 600, Expire: 7200},
		&CacheReset{},
		&RouterKey{Announce: true, SKI: ski, ASN: 64496, SPKI: []byte("spki bytes")},
		&RouterKey{Announce: false, SKI: ski, ASN: 1, SPKI: []byte{1}},
		&ErrorReport{Code: UnsupportedVersion, PDU: []byte{2, 2, 0, 0, 0, 0, 0, 8}, Text: "too new"},
		&ErrorReport{Code: NoDataAvailable},
		&ASPA{Announce: true, Customer: 64496, Providers: []uint32{13213, 150369}},
		&ASPA{Announce: false, IPv6: true, Customer: 1},
	}
}

// TestRoundTrip encodes every PDU type in every version and decodes it back.
func TestRoundTrip(t *testing.T) {
	for _, v := range []Version{Version0, Version1, Version2} {
		for _, p := range samplePDUs() {
			b, err := Append(nil, v, p)
			if p.Type() == TypeRouterKey && v == Version0 || p.Type() == TypeASPA && v < Version2 {
				if err == nil {
					t.Errorf("v%d: encoded a %v", v, p.Type())
				}
				continue
			}
			if err != nil {
				t.Fatalf("v%d %T: %v", v, p, err)
			}
			got, gv, n, err := Decode(append(b, 0xff)) // a byte of the next PDU
			if err != nil {
				t.Fatalf("v%d %T: decode %x: %v", v, p, b, err)
			}
			want := p
			if e, ok := p.(*EndOfData); ok && v == Version0 {
				want = &EndOfData{Session: e.Session, Serial: e.Serial} // no intervals in v0
			}
			if gv != v || n != len(b) || !reflect.DeepEqual(got, want) {
				t.Errorf("v%d: %#v → %x → %#v (v%d, %d bytes)", v, p, b, got, gv, n)
			}
			// Every prefix of the encoding is incomplete.
			for i := range len(b) {
				if _, _, _, err := Decode(b[:i]); !errors.Is(err, ErrShort) {
					t.Errorf("v%d %T: %d of %d bytes: %v, want ErrShort", v, p, i, len(b), err)
					break
				}
			}
		}
	}
}

// TestEncoding checks byte layouts against RFC 8210 §5.
func TestEncoding(t *testing.T) {
	for _, c := range []struct {
		v   Version
		p   PDU
		hex string
	}{
		{1, &ResetQuery{}, "0102000000000008"},
		{0, &SerialQuery{Session: 0x0102, Serial: 3}, "00010102" + "0000000c" + "00000003"},
		{1, &Prefix{Announce: true, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 28, ASN: 64496},
			"01040000" + "00000014" + "01181c00" + "c0000200" + "0000fbf0"},
		{1, &Prefix{Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 48, ASN: 1},
			"01060000" + "00000020" + "00203000" + "20010db8000000000000000000000000" + "00000001"},
		{0, &EndOfData{Session: 5, Serial: 6, Refresh: 1}, "00070005" + "0000000c" + "00000006"},
		{1, &EndOfData{Session: 5, Serial: 6, Refresh: 1, Retry: 2, Expire: 3}, "01070005" + "00000018" + "00000006" + "00000001" + "00000002" + "00000003"},
		{1, &RouterKey{Announce: true, ASN: 2, SPKI: []byte{0xaa}}, "01090100" + "00000021" + strings.Repeat("00", 20) + "00000002" + "aa"},
		{1, &ErrorReport{Code: InvalidRequest, PDU: []byte{1, 2}, Text: "x"}, "010a0003" + "00000013" + "00000002" + "0102" + "00000001" + "78"},
		{2, &EndOfData{Session: 5, Serial: 6, Refresh: 1, Retry: 2, Expire: 3}, "02070005" + "00000018" + "00000006" + "00000001" + "00000002" + "00000003"},
		// As StayRTR 0.5.1 sends them: flags, AFI flags, provider count, customer, providers.
		{2, &ASPA{Announce: true, Customer: 945, Providers: []uint32{13213, 150369}},
			"020b0000" + "00000018" + "01000002" + "000003b1" + "0000339d" + "00024b61"},
		{2, &ASPA{Announce: true, IPv6: true, Customer: 970, Providers: []uint32{54874}},
			"020b0000" + "00000014" + "01010001" + "000003ca" + "0000d65a"},
		{2, &ASPA{IPv6: true, Customer: 970}, "020b0000" + "00000010" + "00010000" + "000003ca"},
	} {
		b, err := Append(nil, c.v, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != c.hex {
			t.Errorf("%T v%d:\n got %s\nwant %s", c.p, c.v, got, c.hex)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	for _, c := range []struct {
		name string
		b    []byte
		code ErrorCode
	}{
		{"version 3", h("0302000000000008"), UnsupportedVersion},
		{"type 5", h("0105000000000008"), UnsupportedPDUType},
		{"type 11 (ASPA) in v1", h("010b0000" + "00000010" + "01000000" + "00000001"), UnsupportedPDUType},
		{"type 11 (ASPA) in v0", h("000b0000" + "00000010" + "01000000" + "00000001"), UnsupportedPDUType},
		{"aspa short", h("020b0000" + "0000000c" + "01000000"), CorruptData},
		{"aspa count too high", h("020b0000" + "00000014" + "01000002" + "00000001" + "00000002"), CorruptData},
		{"aspa count too low", h("020b0000" + "00000018" + "01000001" + "00000001" + "00000002" + "00000003"), CorruptData},
		{"aspa odd length", h("020b0000" + "00000011" + "01000000" + "00000001" + "00"), CorruptData},
		{"type 255", h("01ff000000000008"), UnsupportedPDUType},
		{"router key v0", h("0009000000000020" + strings.Repeat("00", 24)), UnsupportedPDUType},
		{"reset query length 12", h("01020000" + "0000000c" + "00000000"), CorruptData},
		{"serial query length 8", h("0101000000000008"), CorruptData},
		{"v1 end of data length 12", h("01070000" + "0000000c" + "00000000"), CorruptData},
		{"v0 end of data length 24", h("00070000" + "00000018" + strings.Repeat("00", 16)), CorruptData},
		{"ipv4 prefix length 32", h("01040000" + "00000020" + strings.Repeat("00", 24)), CorruptData},
		{"ipv4 prefix len 33", h("01040000" + "00000014" + "01212100" + "c0000200" + "00000001"), CorruptData},
		{"ipv4 maxlen < len", h("01040000" + "00000014" + "01181700" + "c0000200" + "00000001"), CorruptData},
		{"ipv4 unmasked", h("01040000" + "00000014" + "01181800" + "c0000201" + "00000001"), CorruptData},
		{"ipv6 maxlen 129", h("01060000" + "00000020" + "01208100" + "20010db8000000000000000000000000" + "00000001"), CorruptData},
		{"router key short", h("0109000000000010" + strings.Repeat("00", 8)), CorruptData},
		{"error report short", h("010a00000000000c" + "00000000"), CorruptData},
		{"error report inner too long", h("010a0000" + "00000010" + "00000009" + "00000000"), CorruptData},
		{"error report text mismatch", h("010a0000" + "00000012" + "00000000" + "00000001" + "4142"), CorruptData},
		{"error report bad utf8", h("010a0000" + "00000011" + "00000000" + "00000001" + "ff"), CorruptData},
		{"huge length", h("010a0000" + "7fffffff" + "00000000" + "00000000"), CorruptData},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := Decode(c.b)
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != c.code {
				t.Errorf("Decode(%x) = %v, want code %v", c.b, err, c.code)
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	for _, c := range []struct {
		v Version
		p PDU
	}{
		{0, &RouterKey{SPKI: []byte{1}}},
		{3, &ResetQuery{}},
		{1, &ASPA{Customer: 1, Providers: []uint32{2}}},
		{2, &ASPA{Customer: 1, Providers: make([]uint32, MaxPDULen/4)}},
		{1, &Prefix{Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 23}},
		{1, &Prefix{Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 33}},
		{1, &Prefix{}},
		{1, &ErrorReport{Text: strings.Repeat("x", MaxPDULen)}},
	} {
		if b, err := Append([]byte{9}, c.v, c.p); err == nil || !bytes.Equal(b, []byte{9}) {
			t.Errorf("Append(v%d, %#v) = %x, %v; want an error and b unchanged", c.v, c.p, b, err)
		}
	}
}

// FuzzDecode checks that Decode never panics, never reads past the PDU it reports, and
// that what it accepts encodes back to something that decodes to the same PDU; seeded with
// every PDU type in every version, the ASPA PDU of version 2 included.
func FuzzDecode(f *testing.F) {
	for _, v := range []Version{0, 1, 2} {
		for _, p := range samplePDUs() {
			if b, err := Append(nil, v, p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte{1, 2, 0, 0, 0, 0, 0, 7})
	f.Add([]byte{2, 11, 0, 0, 0, 0, 0, 20, 1, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{1, 10, 0, 0, 0, 0, 0, 16, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, v, n, err := Decode(b)
		if err != nil {
			if p != nil {
				t.Fatal("PDU with an error")
			}
			return
		}
		if n < headerLen || n > len(b) || n > MaxPDULen {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		// Trailing bytes do not change the result.
		if p2, _, n2, err := Decode(b[:n]); err != nil || n2 != n || !reflect.DeepEqual(p, p2) {
			t.Fatalf("decoding the PDU alone: %v", err)
		}
		e, err := Append(nil, v, p)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", p, err)
		}
		if len(e) != n {
			t.Fatalf("re-encoded %d bytes, decoded %d", len(e), n)
		}
		p3, v3, _, err := Decode(e)
		if err != nil || v3 != v || !reflect.DeepEqual(p, p3) {
			t.Fatalf("%#v re-encodes to %x, which decodes to %#v, %v", p, e, p3, err)
		}
	})
}
