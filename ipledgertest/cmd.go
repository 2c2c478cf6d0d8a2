package ipledgertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// Program returns the path of name, an outside program a test drives, found in PATH or in
// GOPATH/bin. When it is in neither, Program fails tb under CI=true (where every program
// must be installed) and skips it elsewhere; install says where the program comes from.
func Program(tb testing.TB, name, install string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	missing(tb, fmt.Sprintf("%s not found (%s; scripts/test.sh installs it)", name, install))
	return ""
}

// missing fails tb with msg under CI=true, where every input must be present, and skips
// it elsewhere.
func missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
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
