package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// MaxProofLines is the most consistency proof lines an add-checkpoint request may carry
// (C2SP tlog-witness: "The client MUST NOT send more than 63").
const MaxProofLines = 63

// hashSize is the size of an RFC 6962 SHA-256 hash.
const hashSize = 32

// AddCheckpointRequest is the body of POST <prefix>/add-checkpoint (C2SP tlog-witness): the
// size of the last checkpoint the client believes the witness cosigned, a consistency
// proof from it, and the new checkpoint as a signed note.
type AddCheckpointRequest struct {
	OldSize    uint64
	Proof      [][]byte // RFC 6962 consistency proof hashes, 32 bytes each
	Checkpoint []byte   // the signed checkpoint note
}

// ParseAddCheckpoint parses an add-checkpoint body: "old N\n", zero to 63 base64 hash
// lines, an empty line, then the checkpoint note. It accepts only the canonical form
// (decimal without leading zeros, padded standard base64 of 32-byte hashes), so Marshal
// gives back the same bytes. The note itself is checked later, by the witness.
func ParseAddCheckpoint(b []byte) (AddCheckpointRequest, error) {
	var r AddCheckpointRequest
	line, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return r, errors.New("add-checkpoint: no old size line")
	}
	n, ok := bytes.CutPrefix(line, []byte("old "))
	if !ok {
		return r, fmt.Errorf("add-checkpoint: first line %.40q: want \"old <size>\"", line)
	}
	size, err := parseSize(n)
	if err != nil {
		return r, fmt.Errorf("add-checkpoint: old size: %w", err)
	}
	r.OldSize = size
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return r, errors.New("add-checkpoint: no empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxProofLines {
			return r, fmt.Errorf("add-checkpoint: more than %d consistency proof lines", MaxProofLines)
		}
		// encoding/base64 skips carriage returns even in strict mode: a line holding one
		// would decode to the hash of another line, so it is refused.
		h, err := base64.StdEncoding.Strict().DecodeString(string(line))
		if err != nil || len(h) != hashSize || bytes.IndexByte(line, '\r') >= 0 {
			return r, fmt.Errorf("add-checkpoint: proof line %d: want the base64 of a %d-byte hash", len(r.Proof)+1, hashSize)
		}
		r.Proof = append(r.Proof, h)
	}
	if len(rest) == 0 {
		return r, errors.New("add-checkpoint: no checkpoint")
	}
	r.Checkpoint = rest
	return r, nil
}

// Marshal encodes the request body.
func (r AddCheckpointRequest) Marshal() []byte {
	b := make([]byte, 0, 32+45*len(r.Proof)+len(r.Checkpoint))
	b = append(b, "old "...)
	b = strconv.AppendUint(b, r.OldSize, 10)
	b = append(b, '\n')
	for _, h := range r.Proof {
		b = base64.StdEncoding.AppendEncode(b, h)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, r.Checkpoint...)
}

// parseSize parses an ASCII decimal tree size with no leading zeros (except "0").
func parseSize(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return 0, fmt.Errorf("%.30q: want a decimal number without leading zeros", b)
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%.30q: want a decimal number without leading zeros", b)
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%.30q: %w", b, err)
	}
	return n, nil
}

// ParseSizeBody parses the body of a 409 Conflict answer: the witness's tree size and a
// newline (Content-Type text/x.tlog.size).
func ParseSizeBody(b []byte) (uint64, error) {
	n, ok := bytes.CutSuffix(b, []byte("\n"))
	if !ok {
		return 0, errors.New("tree size: want a decimal number and a newline")
	}
	size, err := parseSize(n)
	if err != nil {
		return 0, fmt.Errorf("tree size: %w", err)
	}
	return size, nil
}
