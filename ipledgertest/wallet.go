package ipledgertest

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium returns the path of Debian's chromium (or another Chrome) for a browser test
// driven by chromedp; without one the test is skipped, or fails under CI=true, where the
// test command installs it.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("no chromium (apt-get install chromium; CI=true needs it)")
	}
	tb.Skip("no chromium")
	return ""
}
