package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
)

// What the end-to-end tests share: the built binary, its processes, a node's start-up and
// the reads and writes of its API. The test files keep only their scenarios.

// buildOnce holds the binary this package builds once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

// binary returns the path of cmd/ipledger built into a temporary directory, building it on
// the first call.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipledger-e2e-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "ipledger")
		buildOnce.err = goBuild(buildOnce.path)
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// goBuild builds cmd/ipledger into path with the build tags given.
func goBuild(path string, tags ...string) error {
	args := []string{"build", "-o", path}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// run runs the binary with args to its end and returns its output, failing the test if it
// fails.
func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := binCmd(t, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ipledger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// binCmd returns the command that runs the binary with args.
func binCmd(t testing.TB, args ...string) *exec.Cmd { return exec.Command(binary(t), args...) }

// exitCode runs cmd to its end and returns its exit code and output; a command that does
// not run at all fails the test.
func exitCode(t testing.TB, cmd *exec.Cmd) (int, string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Path, err, out)
	}
	return 0, string(out)
}

// newHome returns the path of a home, not yet created, in the test's temporary directory.
func newHome(t testing.TB) string { return filepath.Join(t.TempDir(), "home") }

// initHome runs `ipledger init` for chainID on a new home and returns the home.
func initHome(t testing.TB, chainID string) string {
	t.Helper()
	home := newHome(t)
	run(t, "init", "--home", home, "--chain-id", chainID)
	return home
}

// proc is a process a test runs, with its output and, once it has ended, its exit.
type proc struct {
	cmd    *exec.Cmd
	out    *ipledgertest.LockedBuffer
	exited chan struct{} // closed when the process has ended
	err    error         // of Wait, once exited is closed
}

// startProc starts the program name with args, its standard output and error going to
// p.out. When the test ends it kills the process and, if the test failed, logs the end of
// that output.
func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	p := &proc{cmd: cmd, out: &ipledgertest.LockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			out := p.out.String()
			t.Logf("%s output (last 4 KiB):\n%s", strings.Join(cmd.Args[:min(2, len(cmd.Args))], " "), out[max(0, len(out)-4096):])
		}
	})
	return p
}

// kill ends the process with SIGKILL and waits for it.
func (p *proc) kill() { p.stop(syscall.SIGKILL) }

// stop sends sig to the process and waits for it to end.
func (p *proc) stop(sig os.Signal) {
	p.cmd.Process.Signal(sig)
	<-p.exited
}

// waitExit waits up to within for the process to exit and returns its exit code.
func (p *proc) waitExit(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %v:\n%s", filepath.Base(p.cmd.Path), within, p.out.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// waitLine waits up to within for a line of the output that contains s, and returns that
// line. It fails the test when the process exits without printing one.
func (p *proc) waitLine(t testing.TB, s string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		ended := false
		select {
		case <-p.exited:
			ended = true
		default:
		}
		for _, l := range strings.Split(p.out.String(), "\n") {
			if strings.Contains(l, s) {
				return l
			}
		}
		if ended {
			t.Fatalf("%s exited (%v) without a line with %q:\n%s", filepath.Base(p.cmd.Path), p.err, s, p.out.String())
		}
		select {
		case <-deadline:
			t.Fatalf("no line with %q within %v:\n%s", s, within, p.out.String())
		case <-p.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// node is `ipledger node` or `ipledger dev` running with its HTTP API on addr.
type node struct {
	*proc
	home string
	addr string
	cl   *client.Client
}

// nodeArgs returns the arguments of `ipledger sub` on home with its HTTP API on addr, P2P
// on a port the OS picks, and CometBFT's RPC, WHOIS and RTR off; extra follows them, and a
// flag given there again overrides its default here (the last value given wins).
func nodeArgs(sub, home, addr string, extra ...string) []string {
	return append([]string{sub, "--home", home, "--http", addr, "--p2p", "127.0.0.1:0", "--rpc", "off", "--whois", "off", "--rtr", "off"}, extra...)
}

// launchNode starts `ipledger sub` on home as nodeArgs says, with its HTTP API on a free
// port, and does not wait for it.
func launchNode(t testing.TB, sub, home string, extra ...string) *node {
	t.Helper()
	addr := ipledgertest.FreeAddr(t)
	p := startProc(t, binary(t), nodeArgs(sub, home, addr, extra...)...)
	return &node{proc: p, home: home, addr: addr, cl: &client.Client{Base: "http://" + addr}}
}

// startNode starts `ipledger sub` on home as launchNode does and waits until it has
// committed a block.
func startNode(t testing.TB, sub, home string, extra ...string) *node {
	t.Helper()
	n := launchNode(t, sub, home, extra...)
	waitUp(t, n.addr, n.out.String)
	return n
}

// startImport starts `ipledger dev` on a new home importing file, and waits up to within
// for the line that sums up the import, which it prints once every transaction has
// committed, and logs that line.
func startImport(t testing.TB, file string, within time.Duration, extra ...string) *node {
	t.Helper()
	n := launchNode(t, "dev", newHome(t), append([]string{"--import", file}, extra...)...)
	t.Log(n.waitLine(t, "import: ", within))
	return n
}

// waitUp waits up to 30 s until the node whose API is on addr has committed a block; on
// timeout it fails the test with the node's output.
func waitUp(t testing.TB, addr string, output func() string) {
	t.Helper()
	cl := &client.Client{Base: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := cl.Status(ctx)
		cancel()
		if err == nil && st.Height >= 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not come up: %v\n%s", err, output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitListen waits up to within until addr accepts TCP connections; on timeout it fails
// the test with the output out gives.
func waitListen(t testing.TB, addr string, within time.Duration, out func() string) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v\n%s", addr, err, out())
		}
	}
}

// waitFor polls ok until it holds, or fails the test after d with the output out gives.
func waitFor(t testing.TB, d time.Duration, what string, out func() string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, out())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadKeyFile returns the key of name kept in home's keys folder.
func loadKeyFile(t testing.TB, home, name string) ipledger.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "keys", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		Seed string `json:"seed"`
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(kf.Seed)
	k, err := ipledger.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signer returns org signing with its key kept in home.
func signer(t testing.TB, home, org string) ipledger.Signer {
	t.Helper()
	return ipledger.Signer{Org: org, Key: loadKeyFile(t, home, org)}
}

// submitCommitted signs body as by and submits it to cl, waiting for its commit, and
// returns its height; an error unless the transaction commits with CodeOK.
func submitCommitted(ctx context.Context, cl *client.Client, chainID string, kind ipledger.Kind, seq uint64, body any, by ipledger.Signer) (int64, error) {
	tx, err := ipledger.BuildTx(chainID, kind, seq, 0, body, by)
	if err != nil {
		return 0, err
	}
	res, err := cl.Submit(ctx, tx, true)
	if err != nil || !res.Committed() || res.Code != ipledger.CodeOK {
		return 0, fmt.Errorf("%s %d by %s: %+v %v", kind, seq, by.Org, res, err)
	}
	return res.Height, nil
}

// commit is submitCommitted failing the test on its error.
func commit(t testing.TB, ctx context.Context, cl *client.Client, chainID string, kind ipledger.Kind, seq uint64, body any, by ipledger.Signer) int64 {
	t.Helper()
	h, err := submitCommitted(ctx, cl, chainID, kind, seq, body, by)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// metricLines returns the lines of the /metrics page the node at addr serves that start
// with one of prefixes.
func metricLines(t testing.TB, addr string, prefixes ...string) []string {
	t.Helper()
	code, b := ipledgertest.Fetch("http://" + addr + "/metrics")
	if code == 0 {
		t.Fatalf("GET /metrics: %s", b)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}
