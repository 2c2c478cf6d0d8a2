package ipledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// MaxTxBytes is the largest encoded transaction a node accepts: what fits, with the 25
// bytes of its log leaf header, in one entry of a C2SP tlog-tiles entry bundle (whose
// entries carry a 16-bit length), so the log can be served as static tiles.
const MaxTxBytes = 1<<16 - 1 - 25

// MaxSigners is the most signatures one transaction may carry.
const MaxSigners = 8

// SignDomain is prepended to a transaction's payload bytes to form the message each signer
// signs, so a signature over an ipledger transaction can never be replayed as a signature
// over anything else.
const SignDomain = "ipledger/tx/v2\x00"

// txMagic opens every encoded transaction: "IPL" and format version 2. Version 1 had no
// expiry time; its transactions are refused as malformed.
var txMagic = []byte{'I', 'P', 'L', 2}

// Kind says what a transaction does; its Body is the JSON of the matching body type.
type Kind uint16

// Transaction kinds. Numbers are part of the wire format.
const (
	KindRegisterOrg      Kind = 1 // RegisterOrgBody, signed by a registry
	KindBindKey          Kind = 2 // BindKeyBody, signed by the organisation's registry
	KindRotateKeys       Kind = 3 // RotateKeysBody, signed by the organisation
	KindUpdateOrg        Kind = 4 // UpdateOrgBody, signed by the organisation or its registry
	KindRegistryTransfer Kind = 5 // RegistryTransferBody, signed by both registries
	KindAllocate         Kind = 6 // AllocateBody, signed by the registry whose pool it draws on
	KindAssign           Kind = 7 // AssignBody, signed by the holder of the parent holding
	KindTransfer         Kind = 8 // TransferBody, signed by the holder, then the recipient
	KindReturn           Kind = 9 // ReturnBody, signed by the holder

	// Settlement credits and leasing (lease.go).
	KindMint          Kind = 10 // MintBody, signed by a settlement agent
	KindBurn          Kind = 11 // BurnBody, signed by a settlement agent
	KindPay           Kind = 12 // PayBody, signed by the payer
	KindAuthorise     Kind = 13 // AuthoriseBody, signed by the holder of the prefix
	KindWithdrawAuth  Kind = 14 // WithdrawAuthBody, signed by the authorisation's holder
	KindOffer         Kind = 15 // OfferBody, signed by the holder of the block
	KindWithdrawOffer Kind = 16 // WithdrawOfferBody, signed by the lessor
	KindLease         Kind = 17 // LeaseBody, signed by the lessee
	KindRenew         Kind = 18 // RenewBody, signed by the lessee
	KindTerminate     Kind = 19 // TerminateBody, signed by the lessee
	KindSetGeo        Kind = 20 // SetGeoBody, signed by the holder of the deepest holding

	// Governance of the network.
	KindSetValidator Kind = 21 // ledger.SetValidatorBody, signed by operators of > 2/3 of the voting power

	// The market (market.go).
	KindList          Kind = 22 // ListBody, signed by the holder of the block
	KindBid           Kind = 23 // BidBody, signed by the bidder
	KindCancelListing Kind = 24 // CancelListingBody, signed by the seller (only without bids)
	KindSwap          Kind = 25 // SwapBody, signed by the seller, then the buyer
	KindCancelSale    Kind = 26 // CancelSaleBody, signed by the seller within the challenge window

	// Class auctions (issue 16, stage b).
	KindAsk         Kind = 27 // AskBody, signed by the holder of the block
	KindOrder       Kind = 28 // OrderBody, signed by the bidder
	KindCancelOrder Kind = 29 // CancelOrderBody, signed by the ask's seller or the bid's bidder

	// Reputation (observe.go).
	KindObserve Kind = 40 // ObserveBody, signed by an observer
	KindReport  Kind = 41 // ReportBody, signed by the reporter
	KindRespond Kind = 42 // RespondBody, signed by the holder or lessee of the case's block
	KindDecide  Kind = 43 // DecideBody, signed by a panel member (or the block's registry)
	KindAppeal  Kind = 44 // AppealBody, signed by the party decided against
)

var kindNames = map[Kind]string{
	KindRegisterOrg:      "register-org",
	KindBindKey:          "bind-key",
	KindRotateKeys:       "rotate-keys",
	KindUpdateOrg:        "update-org",
	KindRegistryTransfer: "registry-transfer",
	KindAllocate:         "allocate",
	KindAssign:           "assign",
	KindTransfer:         "transfer",
	KindReturn:           "return",
	KindMint:             "mint",
	KindBurn:             "burn",
	KindPay:              "pay",
	KindAuthorise:        "authorise-route",
	KindWithdrawAuth:     "withdraw-route",
	KindOffer:            "offer-lease",
	KindWithdrawOffer:    "withdraw-offer",
	KindLease:            "lease",
	KindRenew:            "renew-lease",
	KindTerminate:        "terminate-lease",
	KindSetGeo:           "set-geo",
	KindSetValidator:     "set-validator",
	KindList:             "list",
	KindBid:              "bid",
	KindCancelListing:    "cancel-listing",
	KindSwap:             "swap",
	KindCancelSale:       "cancel-sale",
	KindAsk:              "ask",
	KindOrder:            "order",
	KindCancelOrder:      "cancel-order",
	KindObserve:          "observe",
	KindReport:           "report",
	KindRespond:          "respond",
	KindDecide:           "decide",
	KindAppeal:           "appeal",
}

// String returns the kind's name as the CLI spells it, e.g. "allocate".
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind-%d", uint16(k))
}

// Payload is the signed part of a transaction.
type Payload struct {
	ChainID  string
	Kind     Kind
	Sequence uint64 // the first signer's sequence number: replay guard
	Expiry   int64  // last height at which the transaction may be committed; 0 = no limit
	// ExpiryTime is the last block time, in Unix seconds, at which the transaction may be
	// committed; 0 = no limit.
	ExpiryTime int64
	Body       []byte // JSON of the kind's body type
}

// Expiry bounds when a transaction may commit: at a height of at most Height and a block
// time of at most Time (Unix seconds). A zero field sets no bound; the zero Expiry never
// expires.
type Expiry struct {
	Height int64
	Time   int64
}

// Signature is one signer's signature over SignDomain ‖ payload bytes. The key is carried
// in full, so signatures can be checked without state; the ledger then checks that the key
// belongs to the organisation.
type Signature struct {
	Org string
	Key PublicKey
	Sig [64]byte
}

// Tx is a decoded transaction. PayloadBytes are the exact bytes that were signed; nodes
// verify against them and never re-encode.
type Tx struct {
	Payload
	PayloadBytes []byte
	Signatures   []Signature
	Hash         Hash // SHA-256 of the whole encoded transaction, as CometBFT hashes it

	// body is the body decoded ahead (KeepBody), read-only; nil if none.
	body any
}

// KeepBody keeps v, a pointer to what DecodeBody(tx.Body, v) decoded without error, for
// DecodeBodyInto to copy from: a node decodes a body once, when the transaction is
// submitted, instead of on the one goroutine that executes blocks. Call it before tx is
// shared; v must not change afterwards.
func (tx *Tx) KeepBody(v any) { tx.body = v }

// DecodeBodyInto decodes tx's body into v, a pointer to a body type, as DecodeBody does.
// If a body of v's type was kept (KeepBody) it is copied instead; the copy is shallow, so
// the caller must not modify the elements of its slices or maps.
func (tx *Tx) DecodeBodyInto(v any) error {
	if tx.body != nil {
		kept, into := reflect.ValueOf(tx.body), reflect.ValueOf(v)
		if kept.Type() == into.Type() {
			into.Elem().Set(kept.Elem())
			return nil
		}
	}
	return DecodeBody(tx.Body, v)
}

// EncodePayload returns the canonical bytes of p:
//
//	uvarint len(chain id) ‖ chain id ‖ uvarint kind ‖ uvarint sequence ‖
//	uvarint expiry height ‖ uvarint expiry time ‖ uvarint len(body) ‖ body
func EncodePayload(p Payload) []byte {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(p.ChainID)))
	b = append(b, p.ChainID...)
	b = binary.AppendUvarint(b, uint64(p.Kind))
	b = binary.AppendUvarint(b, p.Sequence)
	b = binary.AppendUvarint(b, uint64(p.Expiry))
	b = binary.AppendUvarint(b, uint64(p.ExpiryTime))
	b = binary.AppendUvarint(b, uint64(len(p.Body)))
	b = append(b, p.Body...)
	return b
}

// SignBytes returns the message signers sign: SignDomain ‖ payload bytes.
func SignBytes(payload []byte) []byte {
	m := make([]byte, 0, len(SignDomain)+len(payload))
	m = append(m, SignDomain...)
	return append(m, payload...)
}

// EncodeTx returns the wire form of a transaction:
//
//	"IPL" 0x02 ‖ uvarint len(payload) ‖ payload ‖ uvarint n ‖
//	n × (uvarint len(org) ‖ org ‖ 32-byte public key ‖ 64-byte signature)
func EncodeTx(payload []byte, sigs []Signature) []byte {
	b := append([]byte{}, txMagic...)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	b = append(b, payload...)
	b = binary.AppendUvarint(b, uint64(len(sigs)))
	for _, s := range sigs {
		b = binary.AppendUvarint(b, uint64(len(s.Org)))
		b = append(b, s.Org...)
		b = append(b, s.Key[:]...)
		b = append(b, s.Sig[:]...)
	}
	return b
}

// decoder reads the wire format strictly: minimal varints, no trailing bytes.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%s: bad varint", what)
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		d.err = fmt.Errorf("%s: varint not minimally encoded", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%s: %d bytes wanted, %d left", what, n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// DecodePayload parses payload bytes strictly.
func DecodePayload(b []byte) (Payload, error) {
	d := &decoder{b: b}
	var p Payload
	p.ChainID = string(d.bytes(d.uvarint("chain id length"), "chain id"))
	kind := d.uvarint("kind")
	p.Sequence = d.uvarint("sequence")
	exp := d.uvarint("expiry")
	expTime := d.uvarint("expiry time")
	p.Body = d.bytes(d.uvarint("body length"), "body")
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes after body", len(d.b))
	}
	if d.err != nil {
		return Payload{}, Errorf(CodeMalformed, "payload: %v", d.err)
	}
	if kind > 0xFFFF {
		return Payload{}, Errorf(CodeMalformed, "payload: kind %d out of range", kind)
	}
	if exp > 1<<62 {
		return Payload{}, Errorf(CodeMalformed, "payload: expiry %d out of range", exp)
	}
	if expTime > 1<<62 {
		return Payload{}, Errorf(CodeMalformed, "payload: expiry time %d out of range", expTime)
	}
	if p.ChainID == "" || len(p.ChainID) > 64 {
		return Payload{}, Errorf(CodeMalformed, "payload: chain id must be 1 to 64 bytes")
	}
	p.Kind = Kind(kind)
	p.Expiry = int64(exp)
	p.ExpiryTime = int64(expTime)
	return p, nil
}

// DecodeTx parses a wire-form transaction strictly. It checks structure only: signatures
// are checked by VerifySignatures, and everything else by the ledger. Errors are *Error
// with CodeMalformed or CodeTooLarge.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxBytes {
		return nil, Errorf(CodeTooLarge, "transaction is %d bytes, limit %d", len(b), MaxTxBytes)
	}
	if !bytes.HasPrefix(b, txMagic) {
		return nil, Errorf(CodeMalformed, "not an ipledger v2 transaction (bad magic)")
	}
	d := &decoder{b: b[len(txMagic):]}
	payload := d.bytes(d.uvarint("payload length"), "payload")
	n := d.uvarint("signature count")
	if d.err == nil && (n == 0 || n > MaxSigners) {
		d.err = fmt.Errorf("%d signatures; 1 to %d allowed", n, MaxSigners)
	}
	var sigs []Signature
	for i := uint64(0); d.err == nil && i < n; i++ {
		var s Signature
		s.Org = string(d.bytes(d.uvarint("signer length"), "signer"))
		copy(s.Key[:], d.bytes(32, "public key"))
		copy(s.Sig[:], d.bytes(64, "signature"))
		if d.err == nil && !ValidHandle(s.Org) {
			d.err = fmt.Errorf("signer %d: bad organisation handle %q", i, s.Org)
		}
		sigs = append(sigs, s)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, Errorf(CodeMalformed, "transaction: %v", d.err)
	}
	p, err := DecodePayload(payload)
	if err != nil {
		return nil, err
	}
	for i := range sigs {
		for j := 0; j < i; j++ {
			if sigs[i].Org == sigs[j].Org {
				return nil, Errorf(CodeMalformed, "organisation %s signs twice", sigs[i].Org)
			}
		}
	}
	return &Tx{Payload: p, PayloadBytes: payload, Signatures: sigs, Hash: HashTx(b)}, nil
}

// verifyOptions are the ZIP-215 rules CometBFT uses: every node accepts exactly the same
// signatures, batched or not.
var verifyOptions = &ed25519.Options{Verify: ed25519.VerifyOptionsZIP_215}

// VerifySignatures checks every signature of tx against SignBytes(tx.PayloadBytes). It
// returns an *Error with CodeBadSignature naming the first bad signer.
func (tx *Tx) VerifySignatures() error {
	msg := SignBytes(tx.PayloadBytes)
	for _, s := range tx.Signatures {
		// The expanded key (see BatchVerifier) spares the decompression; a key that is not
		// a point has none and its signature fails, as it would unexpanded.
		k := expandedKey(s.Key)
		if k == nil || !ed25519.VerifyExpandedWithOptions(k, msg, s.Sig[:], verifyOptions) {
			return Errorf(CodeBadSignature, "signature of %s does not verify", s.Org)
		}
	}
	return nil
}

// BatchVerifier checks the signatures of many transactions together, which costs about 40%
// less per signature than one at a time. Results are the same as VerifySignatures.
//
// Organisations sign again and again with the same keys, so each public key is expanded
// once — decompressed, with the table of multiples curve25519-voi precomputes for it — and
// kept in a cache shared by every verifier (keyCacheSize keys). The signatures go to voi in
// batches of at most expandedBatch, the largest it verifies with expanded keys: a larger
// voi batch expands the keys of its first entries and then, past that size, drops the
// expansion for a plain multiscalar multiplication, so the expansion is wasted work. The
// checks are the same either way (voi applies the ZIP-215 rules to an expanded key when it
// is made), and so are the verdicts.
type BatchVerifier struct {
	batches []*ed25519.BatchVerifier
	last    int // entries in the last batch
	txOf    []int
	n       int
}

// expandedBatch is the largest voi batch verified with expanded public keys: fewer than
// (190−1)/2 entries (curve25519-voi's batchPippengerThreshold).
const expandedBatch = 93

// NewBatchVerifier returns an empty verifier.
func NewBatchVerifier() *BatchVerifier { return &BatchVerifier{} }

// Add queues every signature of tx and returns the transaction's index in the batch.
func (v *BatchVerifier) Add(tx *Tx) int {
	msg := SignBytes(tx.PayloadBytes)
	for _, s := range tx.Signatures {
		if len(v.batches) == 0 || v.last == expandedBatch {
			v.batches = append(v.batches, ed25519.NewBatchVerifierWithCapacity(expandedBatch))
			v.last = 0
		}
		bv := v.batches[len(v.batches)-1]
		if k := expandedKey(s.Key); k != nil {
			bv.AddExpandedWithOptions(k, msg, s.Sig[:], verifyOptions)
		} else {
			// A key that does not decompress: voi marks the entry invalid, as always.
			bv.AddWithOptions(ed25519.PublicKey(s.Key[:]), msg, s.Sig[:], verifyOptions)
		}
		v.last++
		v.txOf = append(v.txOf, v.n)
	}
	v.n++
	return v.n - 1
}

// Verify checks everything queued and reports, per transaction added, whether all of its
// signatures are valid. rand seeds the batch equation (nil uses crypto/rand); the verdicts
// do not depend on it.
func (v *BatchVerifier) Verify(rand io.Reader) []bool {
	out := make([]bool, v.n)
	for i := range out {
		out[i] = true
	}
	i := 0
	for _, bv := range v.batches {
		_, valid := bv.Verify(rand)
		for _, ok := range valid {
			if !ok {
				out[v.txOf[i]] = false
			}
			i++
		}
	}
	return out
}

// keyCacheSize bounds the expanded public keys kept (about 1.3 KB each).
const keyCacheSize = 1 << 14

// keyCache holds expanded public keys by key. It is cleared when full: a miss only costs
// an expansion.
var keyCache = struct {
	sync.RWMutex
	m map[PublicKey]*ed25519.ExpandedPublicKey
}{m: map[PublicKey]*ed25519.ExpandedPublicKey{}}

// expandedKey returns k expanded, or nil if k is not a point (the verifier then rejects
// its signatures).
func expandedKey(k PublicKey) *ed25519.ExpandedPublicKey {
	keyCache.RLock()
	e := keyCache.m[k]
	keyCache.RUnlock()
	if e != nil {
		return e
	}
	e, err := ed25519.NewExpandedPublicKey(ed25519.PublicKey(k[:]))
	if err != nil {
		return nil
	}
	keyCache.Lock()
	if len(keyCache.m) >= keyCacheSize {
		clear(keyCache.m)
	}
	keyCache.m[k] = e
	keyCache.Unlock()
	return e
}

// PublicKey is an ed25519 public key.
type PublicKey [32]byte

// String returns the key in lowercase hex.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// MarshalText implements encoding.TextMarshaler (hex).
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex).
func (k *PublicKey) UnmarshalText(b []byte) error { return setParsed(k, ParsePublicKey, b) }

// ParsePublicKey parses 64 hex digits.
func ParsePublicKey(s string) (PublicKey, error) {
	k, err := parseHex32("public key", s)
	return PublicKey(k), err
}

// parseHex32 parses 64 hex digits of either case into 32 bytes; what names the value in
// errors.
func parseHex32(what, s string) ([32]byte, error) {
	var b [32]byte
	if len(s) != 64 {
		return b, fmt.Errorf("%s %.16q: want 64 hex digits", what, s)
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return b, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// PrivateKey is an ed25519 signing key.
type PrivateKey struct{ k ed25519.PrivateKey }

// GenerateKey returns a new key drawn from rand (crypto/rand when nil).
func GenerateKey(rand io.Reader) (PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("generate key: %w", err)
	}
	return PrivateKey{k}, nil
}

// KeyFromSeed returns the key with the given 32-byte seed.
func KeyFromSeed(seed []byte) (PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return PrivateKey{}, fmt.Errorf("key seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	return PrivateKey{ed25519.NewKeyFromSeed(seed)}, nil
}

// Seed returns the 32-byte seed the key derives from.
func (k PrivateKey) Seed() []byte { return k.k.Seed() }

// Public returns the public half of k.
func (k PrivateKey) Public() PublicKey {
	var p PublicKey
	copy(p[:], k.k[32:])
	return p
}

// Sign returns the signature of org with key k over payload.
func (k PrivateKey) Sign(org string, payload []byte) Signature {
	s := Signature{Org: org, Key: k.Public()}
	copy(s.Sig[:], ed25519.Sign(k.k, SignBytes(payload)))
	return s
}

// Signer is an organisation and one of its keys.
type Signer struct {
	Org string
	Key PrivateKey
}

// BuildTx encodes body as JSON, builds the payload and returns the wire transaction signed
// by every signer in order; the first signer's sequence is seq and expiry its last height
// (0: none). It sets no expiry time; BuildTxExpiring does.
func BuildTx(chainID string, kind Kind, seq uint64, expiry int64, body any, signers ...Signer) ([]byte, error) {
	return BuildTxExpiring(chainID, kind, seq, Expiry{Height: expiry}, body, signers...)
}

// BuildTxExpiring is BuildTx with an expiry by height and by block time.
func BuildTxExpiring(chainID string, kind Kind, seq uint64, exp Expiry, body any, signers ...Signer) ([]byte, error) {
	if exp.Height < 0 || exp.Time < 0 {
		return nil, fmt.Errorf("build tx: negative expiry")
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("build tx: no signer")
	}
	js, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("build tx: encode body: %w", err)
	}
	payload := EncodePayload(Payload{ChainID: chainID, Kind: kind, Sequence: seq, Expiry: exp.Height, ExpiryTime: exp.Time, Body: js})
	sigs := make([]Signature, len(signers))
	for i, s := range signers {
		sigs[i] = s.Key.Sign(s.Org, payload)
	}
	return EncodeTx(payload, sigs), nil
}

// DecodeBody parses a transaction body strictly, so that every JSON parser a signer may
// use reads it alike: member names match the body type's exactly (case included), a name
// appears at most once per object at any depth, and unknown members and trailing data are
// refused, all with CodeMalformed. Text that is not valid UTF-8 or holds a control or
// format character (CheckText) is refused with CodeBadText.
func DecodeBody(b []byte, v any) error {
	if !utf8.Valid(b) {
		return Errorf(CodeBadText, "body: not valid UTF-8")
	}
	// JSON v2's defaults: names match case-sensitively, duplicate names and invalid
	// UTF-8 are errors, and so is anything after the value but white space.
	if err := jsonv2.Unmarshal(b, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return Errorf(CodeMalformed, "body: %v", err)
	}
	return CheckText(v)
}

// Hash is a SHA-256 digest: a transaction's hash, as CometBFT computes it over the encoded
// transaction.
type Hash [32]byte

// HashTx returns the hash of an encoded transaction.
func HashTx(b []byte) Hash { return sha256.Sum256(b) }

// String returns the hash in upper-case hex, as CometBFT prints transaction hashes.
func (h Hash) String() string {
	const digits = "0123456789ABCDEF"
	var b [2 * len(h)]byte
	for i, c := range h {
		b[2*i], b[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(b[:])
}

// MarshalText implements encoding.TextMarshaler (hex).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex, either case).
func (h *Hash) UnmarshalText(b []byte) error { return setParsed(h, ParseHash, b) }

// ParseHash parses 64 hex digits of either case.
func ParseHash(s string) (Hash, error) {
	h, err := parseHex32("hash", s)
	return Hash(h), err
}
