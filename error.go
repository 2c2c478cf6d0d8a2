package ipledger

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Code classifies a failure for users. The same code is the ABCI result code of a rejected
// transaction and picks the HTTP status of a JSON API or RDAP error (Code.HTTPStatus);
// WHOIS keeps the RIPE Database's %ERROR numbers (a store failure is %ERROR:100).
// Codes are part of the wire contract: never renumber one.
type Code uint32

// Result codes. CodeOK (zero) means success.
const (
	CodeOK             Code = 0
	CodeInternal       Code = 1  // a fault of the node, not of the request
	CodeMalformed      Code = 2  // bytes that do not decode
	CodeWrongChain     Code = 3  // signed for another chain
	CodeBadSignature   Code = 4  // a signature that does not verify
	CodeUnknownSigner  Code = 5  // signer organisation does not exist
	CodeUnknownKey     Code = 6  // key is not one of the signer's keys
	CodeStaleSequence  Code = 7  // sequence already used (a replay)
	CodeFutureSequence Code = 8  // sequence beyond the next one expected
	CodeExpired        Code = 9  // past its expiry height
	CodeTooLarge       Code = 10 // over the size limit
	CodeUnauthorized   Code = 11 // signer may not do this
	CodeNotFound       Code = 12 // no such object
	CodeOverlap        Code = 13 // overlaps an existing holding at the same level
	CodeOutsideParent  Code = 14 // not inside the holding it should come from
	CodeEncumbered     Code = 15 // a lease, pending transfer or order blocks it
	CodeOverflow       Code = 16 // arithmetic overflow
	CodeInvalid        Code = 17 // well-formed but semantically invalid
	CodeExists         Code = 18 // already exists
	CodeHasChildren    Code = 19 // would cut through or orphan sub-holdings
	CodeUnknownKind    Code = 20 // transaction kind not known
	CodeMempoolFull    Code = 21 // per-signer quota reached; retry later
	CodeNoFunds        Code = 22 // balance too low for a payment
	CodeBadText        Code = 23 // text not valid UTF-8 or holding a control or format character
	// CodeRateLimited is the node refusing a client's request over its rate limit (HTTP
	// 429 with Retry-After); never a transaction's result.
	CodeRateLimited Code = 24
	CodeUnavailable Code = 25 // the node takes no transactions now: halted, or its disk is nearly full
	// CodeBusy is the node refusing an expensive read while as many run as it allows (HTTP
	// 503 with Retry-After); never a transaction's result.
	CodeBusy Code = 26
	// CodePolicy is the transfer policy (chain parameters: minimum size, holding period,
	// statuses that may move) refusing a transfer or sale.
	CodePolicy Code = 27
)

var codeNames = map[Code]string{
	CodeOK:             "ok",
	CodeInternal:       "internal",
	CodeMalformed:      "malformed",
	CodeWrongChain:     "wrong_chain",
	CodeBadSignature:   "bad_signature",
	CodeUnknownSigner:  "unknown_signer",
	CodeUnknownKey:     "unknown_key",
	CodeStaleSequence:  "stale_sequence",
	CodeFutureSequence: "future_sequence",
	CodeExpired:        "expired",
	CodeTooLarge:       "too_large",
	CodeUnauthorized:   "unauthorized",
	CodeNotFound:       "not_found",
	CodeOverlap:        "overlap",
	CodeOutsideParent:  "outside_parent",
	CodeEncumbered:     "encumbered",
	CodeOverflow:       "overflow",
	CodeInvalid:        "invalid",
	CodeExists:         "exists",
	CodeHasChildren:    "has_children",
	CodeUnknownKind:    "unknown_kind",
	CodeMempoolFull:    "mempool_full",
	CodeNoFunds:        "insufficient_funds",
	CodeBadText:        "bad_text",
	CodeRateLimited:    "rate_limited",
	CodeUnavailable:    "unavailable",
	CodeBusy:           "busy",
	CodePolicy:         "policy",
}

// ParseCode is the inverse of Code.String: "stale_sequence" gives CodeStaleSequence, and
// the "code_N" form of an unnamed code gives N. ok is false for anything else.
func ParseCode(name string) (code Code, ok bool) {
	for c, n := range codeNames {
		if n == name {
			return c, true
		}
	}
	if n, found := strings.CutPrefix(name, "code_"); found {
		if v, err := strconv.ParseUint(n, 10, 32); err == nil && strconv.FormatUint(v, 10) == n {
			if _, named := codeNames[Code(v)]; !named {
				return Code(v), true
			}
		}
	}
	return 0, false
}

// String returns the code's stable name, e.g. "stale_sequence".
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// HTTPStatus maps a code to the HTTP status a JSON API error carries (numbers rather than
// net/http constants keep the state machine's imports free of the network stack).
func (c Code) HTTPStatus() int {
	switch c {
	case CodeOK:
		return 200
	case CodeInternal:
		return 500
	case CodeNotFound:
		return 404
	case CodeUnauthorized, CodeBadSignature, CodeUnknownKey, CodeUnknownSigner:
		return 403
	case CodeTooLarge:
		return 413
	case CodeExists, CodeOverlap, CodeEncumbered, CodeHasChildren, CodeStaleSequence, CodeFutureSequence:
		return 409
	case CodeMempoolFull, CodeRateLimited:
		return 429
	case CodeNoFunds:
		return 402
	case CodeUnavailable, CodeBusy:
		return 503
	}
	return 400
}

// Error is a failure meant for users: a Code and a message. Internal details stay in logs.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeOK for nil and
// CodeInternal for any other error.
func ErrorCode(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user message of the first *Error in err's chain, or "internal
// error" for any other error, so internal details never reach a user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
