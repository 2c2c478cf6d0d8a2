package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestServeFlagsRefused checks a bad serving flag stops the command with a clear message.
func TestServeFlagsRefused(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"--timeout-commit=-5ms", "--timeout-commit -5ms: want a duration"},
		{"--mem-limit=lots", `--mem-limit "lots"`},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{"dev", "--home", t.TempDir(), "--http", "off", "--whois", "off", "--rtr", "off", "--rpc", "off", "--p2p", "127.0.0.1:0", tc.flag}, &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error naming %q", tc.flag, code, errOut.String(), tc.want)
		}
	}
}
