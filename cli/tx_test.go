package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// The CLI never reports success for a transaction it waited for and did not see commit.
func TestTxNotCommitted(t *testing.T) {
	home := t.TempDir()
	if code, _, errs := run("key", "create", "ORG-A", "--home", home); code != 0 {
		t.Fatal(errs)
	}
	node := &fakeNode{}
	url := serveNode(t, node)
	pay := []string{"tx", "pay", "--home", home, "--node", url, "--as", "ORG-A", "--sequence", "1", "--to", "ORG-B", "--amount", "5"}

	// The wait ends without a commit: exit 3, the hash, and how to check.
	code, out, errs := run(pay...)
	hash := node.last(t).Hash.String()
	if code != exitNotCommitted || !strings.Contains(errs, hash) || !strings.Contains(errs, "not known to have committed") ||
		!strings.Contains(errs, "ipledger query tx "+hash) || strings.Contains(out, "accepted") {
		t.Fatalf("not committed: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// The same for tx submit of a file.
	file := filepath.Join(t.TempDir(), "pay.tx")
	if err := os.WriteFile(file, node.got[0], 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run("tx", "submit", file, "--node", url); code != exitNotCommitted || !strings.Contains(errs, hash) {
		t.Fatalf("submit, not committed: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// Asked not to wait: accepted, not committed yet, exit 0.
	if code, out, errs := run("tx", "submit", file, "--node", url, "--no-wait"); code != 0 || !strings.Contains(out, "accepted "+hash+" (not committed yet") {
		t.Fatalf("--no-wait: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// The node goes away while the client waits: not known either.
	gone := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("wait") == "commit" {
			panic(http.ErrAbortHandler) // the connection drops
		}
	}))
	if code, out, errs := run("tx", "submit", file, "--node", gone); code != exitNotCommitted || !strings.Contains(errs, hash) {
		t.Fatalf("connection lost: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// Committed: exit 0.
	node.commit = true
	if code, out, errs := run(pay...); code != 0 || !strings.Contains(out, "committed ") {
		t.Fatalf("committed: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// ipledger tx sets an expiry time by default: an hour for a transaction it submits, seven
// days for one written for co-signers; --expires-in overrides both, 0 for none.
func TestTxDefaultExpiry(t *testing.T) {
	home := t.TempDir()
	if code, _, errs := run("key", "create", "ORG-A", "--home", home); code != 0 {
		t.Fatal(errs)
	}
	node := &fakeNode{commit: true}
	url := serveNode(t, node)
	pay := []string{"tx", "pay", "--home", home, "--node", url, "--as", "ORG-A", "--sequence", "1", "--to", "ORG-B", "--amount", "5"}
	file := filepath.Join(t.TempDir(), "pay.tx")
	for _, c := range []struct {
		args []string
		want time.Duration // 0: no expiry time
	}{
		{nil, time.Hour},
		{[]string{"--out", file}, 7 * 24 * time.Hour},
		{[]string{"--expires-in", "10m"}, 10 * time.Minute},
		{[]string{"--out", file, "--expires-in", "48h"}, 48 * time.Hour},
		{[]string{"--expires-in", "0"}, 0},
		{[]string{"--out", file, "--expires-in", "0"}, 0},
	} {
		start := time.Now()
		if code, _, errs := run(append(pay, c.args...)...); code != 0 {
			t.Fatalf("%v: %s", c.args, errs)
		}
		var tx *ipledger.Tx
		if len(c.args) > 0 && c.args[0] == "--out" {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if tx, err = ipledger.DecodeTx(b); err != nil {
				t.Fatal(err)
			}
		} else {
			tx = node.last(t)
		}
		if c.want == 0 {
			if tx.ExpiryTime != 0 {
				t.Fatalf("%v: expiry time %d, want none", c.args, tx.ExpiryTime)
			}
			continue
		}
		lo, hi := start.Add(c.want).Unix(), time.Now().Add(c.want).Unix()+1
		if tx.ExpiryTime < lo || tx.ExpiryTime > hi {
			t.Fatalf("%v: expiry time %d, want %d to %d", c.args, tx.ExpiryTime, lo, hi)
		}
	}
	// A chain whose blocks are ahead of this machine's clock: the hour counts from the
	// last block's time.
	node.blockTime = time.Now().Add(3 * time.Hour).Truncate(time.Second)
	if code, _, errs := run(pay...); code != 0 {
		t.Fatal(errs)
	}
	if got, want := node.last(t).ExpiryTime, node.blockTime.Add(time.Hour).Unix(); got != want {
		t.Fatalf("expiry time %d, want the block time plus an hour, %d", got, want)
	}
}

// tx --out and tx sign print the real next command: the file as given, the organisation
// that still has to sign, or tx submit once every signer the kind needs has signed.
func TestTxOutNextStep(t *testing.T) {
	home := t.TempDir()
	for _, k := range []string{"ORG-A", "ORG-B"} {
		if code, _, errs := run("key", "create", k, "--home", home); code != 0 {
			t.Fatal(errs)
		}
	}
	url := serveNode(t, &fakeNode{commit: true})
	dir := filepath.Join(t.TempDir(), "my txs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "t.tx")
	quoted := "'" + file + "'"
	common := []string{"--home", home, "--node", url, "--sequence", "1", "--out", file}

	// One signer: nothing more to sign.
	_, out, errs := run(append([]string{"tx", "pay", "--as", "ORG-A", "--to", "ORG-B", "--amount", "5"}, common...)...)
	if want := "next: ipledger tx submit " + quoted + "\n"; !strings.HasSuffix(out, want) || strings.Contains(out, "--as ORG\n") {
		t.Fatalf("pay --out: stdout %q, stderr %q; want it to end %q", out, errs, want)
	}
	// A transfer signed by the holder: the recipient signs next.
	_, out, errs = run(append([]string{"tx", "transfer", "--as", "ORG-A", "--to", "ORG-B", "--resource", "193.0.0.0/24"}, common...)...)
	if want := "next: ipledger tx sign " + quoted + " --as ORG-B\nthen: ipledger tx submit " + quoted + "\n"; !strings.HasSuffix(out, want) {
		t.Fatalf("transfer --out: stdout %q, stderr %q; want it to end %q", out, errs, want)
	}
	_, out, errs = run("tx", "sign", file, "--as", "ORG-B", "--home", home)
	if want := "(2 signatures)\nnext: ipledger tx submit " + quoted + "\n"; !strings.HasSuffix(out, want) {
		t.Fatalf("tx sign: stdout %q, stderr %q; want it to end %q", out, errs, want)
	}
	// A file naming a hostile signer (it may come from anyone): the printed command quotes
	// it for the shell, and controls never reach the terminal.
	_, out, errs = run(append([]string{"tx", "transfer", "--as", "ORG-A", "--to", "ORG-X'; rm -rf ~; echo '", "--resource", "193.0.0.0/24"}, common...)...)
	if want := `next: ipledger tx sign ` + quoted + ` --as 'ORG-X'\''; rm -rf ~; echo '\'''` + "\n"; !strings.Contains(out, want) {
		t.Fatalf("transfer to a hostile handle: stdout %q, stderr %q; want %q", out, errs, want)
	}
	_, out, errs = run(append([]string{"tx", "transfer", "--as", "ORG-A", "--to", "ORG-X\x1b]0;pwned\x07", "--resource", "193.0.0.0/24"}, common...)...)
	if strings.ContainsAny(out+errs, "\x1b\x07") {
		t.Fatalf("transfer to a handle with controls: stdout %q, stderr %q", out, errs)
	}
	_, out, errs = run(append([]string{"tx", "transfer", "--as", "ORG-A", "--cosigner", "ORG-B", "--resource", "193.0.0.0/24"}, common...)...)
	if want := "next: ipledger tx submit " + quoted + "\n"; !strings.HasSuffix(out, want) {
		t.Fatalf("transfer --cosigner --out: stdout %q, stderr %q; want it to end %q", out, errs, want)
	}
}
