package httpapi

import (
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
)

// codeByName is the reverse of ipledger.Code.String for every named code.
var codeByName = func() map[string]ipledger.Code {
	m := map[string]ipledger.Code{}
	for c := ipledger.Code(0); c < 256; c++ {
		if s := c.String(); !strings.HasPrefix(s, "code_") {
			m[s] = c
		}
	}
	return m
}()

// ParseCode is the inverse of ipledger.Code.String: "stale_sequence" gives
// CodeStaleSequence, and the "code_N" form of an unnamed code gives N. ok is false for
// anything else.
func ParseCode(name string) (code ipledger.Code, ok bool) {
	if c, ok := codeByName[name]; ok {
		return c, true
	}
	if n, found := strings.CutPrefix(name, "code_"); found {
		if v, err := strconv.ParseUint(n, 10, 32); err == nil && strconv.FormatUint(v, 10) == n {
			return ipledger.Code(v), true
		}
	}
	return 0, false
}
