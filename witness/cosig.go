package witness

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// Ed25519 cosignatures (C2SP tlog-cosignature, "cosignature/v1"): a note signature whose
// key ID is SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4] and whose signature is a
// big-endian uint64 POSIX timestamp followed by the Ed25519 signature of
//
//	cosignature/v1
//	time <timestamp>
//	<the checkpoint's note text>
//
// Keys are encoded as signed-note keys with algorithm byte 0x04: the verifier key
// "name+hash+base64(0x04 ‖ public key)" and the signer key
// "PRIVATE+KEY+name+hash+base64(0x04 ‖ seed)", which
// github.com/transparency-dev/formats/note reads too.

// algCosignatureV1 is the signed-note algorithm byte of Ed25519 cosignature/v1 keys.
const algCosignatureV1 = 0x04

// cosigSize is the length of a cosignature/v1 signature: timestamp(8) ‖ Ed25519(64).
const cosigSize = 8 + ed25519.SignatureSize

// GenerateKey returns a new cosignature/v1 signer key and its verifier key for a cosigner
// called name (a schema-less URL is customary; no spaces or '+').
func GenerateKey(name string) (skey, vkey string, err error) {
	if !validName(name) {
		return "", "", fmt.Errorf("cosigner name %q: want non-empty UTF-8 without spaces or '+'", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	return encodeSignerKey(name, priv.Seed()), encodeVerifierKey(name, pub), nil
}

func encodeSignerKey(name string, seed []byte) string {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	return fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, keyHash(name, pub), base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, seed...)))
}

func encodeVerifierKey(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, keyHash(name, pub), base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
}

// keyHash is the cosignature/v1 key ID.
func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// validName is the signed-note rule for key names (and, as signed notes allow no control
// characters, none of those either).
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && !strings.Contains(name, "+") &&
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r < 0x20 }) < 0
}

// Signer makes cosignature/v1 signatures; it is a note.Signer. The zero Signer is not
// usable; use NewSigner.
type Signer struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
	pub  ed25519.PublicKey
	now  func() time.Time
}

// NewSigner parses a cosignature/v1 signer key made by GenerateKey.
func NewSigner(skey string) (*Signer, error) {
	// The base64 key may itself contain '+': cut the fields from the left.
	priv1, rest, _ := strings.Cut(skey, "+")
	priv2, rest, _ := strings.Cut(rest, "+")
	name, rest, _ := strings.Cut(rest, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.Strict().DecodeString(key64)
	if priv1 != "PRIVATE" || priv2 != "KEY" || err != nil || !validName(name) || len(hash16) != 8 || len(key) != 1+ed25519.SeedSize || key[0] != algCosignatureV1 {
		return nil, errors.New("malformed cosigner key: want PRIVATE+KEY+name+hash+base64 of an Ed25519 cosignature/v1 key (algorithm 4)")
	}
	priv := ed25519.NewKeyFromSeed(key[1:])
	s := &Signer{name: name, key: priv, pub: priv.Public().(ed25519.PublicKey), now: time.Now}
	s.hash = keyHash(name, s.pub)
	if h, err := strconv.ParseUint(hash16, 16, 32); err != nil || uint32(h) != s.hash {
		return nil, errors.New("malformed cosigner key: the key hash does not match the key")
	}
	return s, nil
}

// Name returns the cosigner's name.
func (s *Signer) Name() string { return s.name }

// KeyHash returns the cosignature/v1 key ID.
func (s *Signer) KeyHash() uint32 { return s.hash }

// VerifierKey returns the verifier key of the signer.
func (s *Signer) VerifierKey() string { return encodeVerifierKey(s.name, s.pub) }

// Sign returns the timestamped cosignature of a checkpoint's note text, timestamped now.
func (s *Signer) Sign(text []byte) ([]byte, error) {
	return s.signAt(uint64(s.now().Unix()), text)
}

func (s *Signer) signAt(t uint64, text []byte) ([]byte, error) {
	if t > math.MaxInt64 {
		return nil, fmt.Errorf("timestamp %d is beyond 2^63-1", t)
	}
	// A checkpoint: origin, size and root hash lines at least (C2SP tlog-checkpoint).
	if bytes.Count(text, []byte("\n")) < 3 || !bytes.HasSuffix(text, []byte("\n")) {
		return nil, errors.New("cosign: the text is not a checkpoint")
	}
	sig := binary.BigEndian.AppendUint64(make([]byte, 0, cosigSize), t)
	return append(sig, ed25519.Sign(s.key, cosignedMessage(t, text))...), nil
}

// cosignedMessage is the message a cosignature/v1 signs (C2SP tlog-cosignature, "Ed25519
// signed message").
func cosignedMessage(t uint64, text []byte) []byte {
	m := make([]byte, 0, 40+len(text))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, t, 10)
	m = append(m, '\n')
	return append(m, text...)
}

// Verifier checks cosignature/v1 signatures; it is a note.Verifier. The zero Verifier is
// not usable; use NewVerifier.
type Verifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// NewVerifier parses a cosignature/v1 verifier key "name+hash+base64(0x04 ‖ key)".
func NewVerifier(vkey string) (*Verifier, error) {
	name, rest, _ := strings.Cut(vkey, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.Strict().DecodeString(key64)
	if err != nil || !validName(name) || len(hash16) != 8 || len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return nil, fmt.Errorf("malformed witness key %.80q: want name+hash+base64 of an Ed25519 cosignature/v1 key (algorithm 4)", vkey)
	}
	v := &Verifier{name: name, pub: ed25519.PublicKey(key[1:])}
	v.hash = keyHash(name, v.pub)
	if h, err := strconv.ParseUint(hash16, 16, 32); err != nil || uint32(h) != v.hash {
		return nil, fmt.Errorf("malformed witness key %.80q: the key hash does not match the key", vkey)
	}
	return v, nil
}

// Name returns the cosigner's name.
func (v *Verifier) Name() string { return v.name }

// KeyHash returns the cosignature/v1 key ID.
func (v *Verifier) KeyHash() uint32 { return v.hash }

// Verify reports whether sig (timestamp ‖ Ed25519 signature, without the key ID) is this
// cosigner's cosignature of the note text msg.
func (v *Verifier) Verify(msg, sig []byte) bool {
	if len(sig) != cosigSize || bytes.Count(msg, []byte("\n")) < 2 {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > math.MaxInt64 {
		return false
	}
	return ed25519.Verify(v.pub, cosignedMessage(t, msg), sig[8:])
}

var (
	_ note.Signer   = (*Signer)(nil)
	_ note.Verifier = (*Verifier)(nil)
)

// CosignatureTime returns the timestamp of a cosignature/v1 note signature.
func CosignatureTime(sig note.Signature) (time.Time, error) {
	raw, err := base64.StdEncoding.DecodeString(sig.Base64)
	if err != nil || len(raw) != 4+cosigSize {
		return time.Time{}, fmt.Errorf("signature of %s is not a cosignature/v1", sig.Name)
	}
	t := binary.BigEndian.Uint64(raw[4:])
	if t > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("cosignature of %s: timestamp %d is beyond 2^63-1", sig.Name, t)
	}
	return time.Unix(int64(t), 0).UTC(), nil
}

// maxSignatureLines bounds the signature lines ParseSignatureLines accepts, as signed
// notes do (golang.org/x/mod/sumdb/note reads at most 100).
const maxSignatureLines = 100

// ParseSignatureLines parses note signature lines ("— name base64(key ID ‖ signature)",
// each ending in a newline), the body of a witness's add-checkpoint answer. It needs at
// least one line and accepts nothing else.
func ParseSignatureLines(b []byte) ([]note.Signature, error) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, errors.New("signature lines: want one or more lines, each ending in a newline")
	}
	var sigs []note.Signature
	for rest := b; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := string(rest[:i])
		rest = rest[i+1:]
		if len(sigs) == maxSignatureLines {
			return nil, fmt.Errorf("signature lines: more than %d", maxSignatureLines)
		}
		s, err := parseSignatureLine(line)
		if err != nil {
			return nil, fmt.Errorf("signature line %d: %w", len(sigs)+1, err)
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

func parseSignatureLine(line string) (note.Signature, error) {
	body, ok := strings.CutPrefix(line, "— ")
	if !ok {
		return note.Signature{}, errors.New("does not start with \"— \"")
	}
	name, b64, ok := strings.Cut(body, " ")
	if !ok || !validName(name) {
		return note.Signature{}, errors.New("want a key name, one space and the signature")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	// The decoder skips carriage returns, which a note may not contain.
	if err != nil || len(raw) < 5 || strings.Contains(b64, "\r") {
		return note.Signature{}, errors.New("the signature is not base64 of a key ID and a signature")
	}
	return note.Signature{Name: name, Hash: binary.BigEndian.Uint32(raw), Base64: b64}, nil
}

// FormatSignatureLine returns the note signature line of sig, ending in a newline.
func FormatSignatureLine(sig note.Signature) string {
	return "— " + sig.Name + " " + sig.Base64 + "\n"
}

// VerifyCosignatures checks a witness's add-checkpoint answer (signature lines) for the
// checkpoint note text: it returns the lines from v's key, all of which must verify, and
// fails if there is none. Lines from other keys are ignored (C2SP tlog-witness).
func VerifyCosignatures(text string, answer []byte, v note.Verifier) ([]note.Signature, error) {
	sigs, err := ParseSignatureLines(answer)
	if err != nil {
		return nil, err
	}
	var out []note.Signature
	for _, s := range sigs {
		if s.Name != v.Name() || s.Hash != v.KeyHash() {
			continue
		}
		raw, _ := base64.StdEncoding.DecodeString(s.Base64) // parsed above
		if !v.Verify([]byte(text), raw[4:]) {
			return nil, fmt.Errorf("the cosignature of %s does not verify", v.Name())
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no cosignature from %s+%08x in the answer", v.Name(), v.KeyHash())
	}
	return out, nil
}
