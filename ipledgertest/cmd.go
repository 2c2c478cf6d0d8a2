package ipledgertest

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"
	"time"
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

// RunTimeout runs the program name with args to its end, killing it after d, and
// returns its standard output and error together.
func RunTimeout(d time.Duration, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("%s: no answer within %v", cmd.Path, d)
	}
}
