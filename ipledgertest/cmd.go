package ipledgertest

import (
	"os/exec"
	"testing"
)

// StartCmd starts cmd with its standard output and error going to the buffer it returns,
// kills it when the test ends and then, if the test failed, logs that output as name's.
func StartCmd(tb testing.TB, name string, cmd *exec.Cmd) *LockedBuffer {
	tb.Helper()
	out := &LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if tb.Failed() {
			tb.Logf("%s log:\n%s", name, out.String())
		}
	})
	return out
}
