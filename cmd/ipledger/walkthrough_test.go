package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the CLI walk-through of README.md, command by command, against
// a real node, so the README cannot drift from what the binary does.
func TestREADMEWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The walk-through is the first ```sh block after "## A walk through the CLI".
	text := string(readme)
	i := strings.Index(text, "## A walk through the CLI")
	if i < 0 {
		t.Fatal("README has no walk-through section")
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(text[i:])
	if block == nil {
		t.Fatal("walk-through has no sh block")
	}
	home := initHome(t, "walkthrough")
	p := startNode(t, "node", home)
	bin := filepath.Dir(binary(t))
	work := t.TempDir() // the working directory, where t.tx is written
	var transcript strings.Builder
	sh := func(line string) (int, string) {
		cmd := exec.Command("bash", "-c", "set -e; "+line)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "IPLEDGER_HOME="+home, "IPLEDGER_NODE=http://"+p.addr)
		code, out := exitCode(t, cmd)
		transcript.WriteString("$ " + line + "\n" + out)
		return code, out
	}
	ran := 0
	for _, line := range strings.Split(block[1], "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "export ") {
			continue
		}
		if code, _ := sh(line); code != 0 {
			t.Fatalf("%s: exit %d\n%s", line, code, transcript.String())
		}
		ran++
	}
	got := transcript.String()
	for _, want := range []string{
		"193.0.200.1/32 at height",         // the resource query answers
		"is held by ORG-BOB (Bob Hosting)", // after the transfer, Bob holds the upper /17
		"ORG-ALICE  Alice Networks",        // the org query
		"transfer  ok",                     // the history shows the transfer
		"is held by ORG-BOB (Bob Hosting), LEASED",
		// tx --out and tx sign print the real next command.
		"next: ipledger tx sign t.tx --as ORG-BOB\nthen: ipledger tx submit t.tx\n",
		"(2 signatures)\nnext: ipledger tx submit t.tx\n",
		"ORG-ALICE holds 512 credits at height",
		"geolocations (set-geo, RFC 8805):\n  193.0.64.0/24  KE  -  Nairobi  by ORG-BOB\n",
		// The abuse process: the case reversed on appeal, in the block's passport.
		"case 1 at height",
		": reversed, spam on 193.0.8.0/24\n",
		"cases (1):\n  1  reversed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("walk-through output lacks %q:\n%s", want, got)
		}
	}
	for _, want := range []string{
		// The leased /24's row: no registration country, geolocated in KE by set-geo.
		`\n2\s+IPL-H\d+\s+193\.0\.64\.0/24\s+ORG-BOB\s+LEASED\s+-\s+KE\s+\d{4}-\d\d-\d\d\n`,
		// Routes and leases are tables with RFC 3339 times, not JSON with Unix seconds.
		`\n\d+\s+193\.0\.64\.0/24\s+24\s+AS64500\s+ORG-BOB\s+yes\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+1\s+`,
		`\n1\s+193\.0\.64\.0/24\s+ORG-ALICE\s+ORG-BOB\s+AS64500\s+512\s+30d\s+1/3\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+`,
		// The market: the listing with Bob's bid, the swap (fee 15) and the unpriced transfer.
		`\n1\s+193\.0\.65\.0/24\s+ORG-ALICE\s+1000\s+1\s+\S+\s+1\s+1200\s+ORG-BOB\s+open\n`,
		`\n\d+\s+\S+\s+swap\s+193\.0\.66\.0/24\s+ORG-ALICE\s+ORG-BOB\s+3000\s+15\s+256\s+11\s+no\n`,
		`\n\d+\s+\S+\s+transfer\s+193\.0\.128\.0/17\s+ORG-ALICE\s+ORG-BOB\s+0\s+0\s+32768\s+0\s+no\n`,
		// The class auction's book: Bob's ask and Alice's bid meet in the any-any class.
		`\nipv4-24-any-any-A\s+1\s+1\s+1\s+12\s+13\n`,
		`\nask\s+12\s+1\s+1\nbid\s+13\s+1\s+1\n`,
		// The upheld decision's action: AS0 over the /24, Alice's /17 split around it.
		`\n\d+\s+193\.0\.8\.0/24\s+32\s+AS0\s+ORG-BOB\s`,
		`\n\d+\s+193\.0\.9\.0/24\s+24\s+AS64496\s+ORG-ALICE\s`,
		// The decision recorded with the evidence's hash.
		`decision\s+RIPE-NCC\s+upheld\s+[0-9a-f]{64}`,
	} {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("walk-through output does not match %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"asn"`) || strings.Contains(got, `"balance"`) {
		t.Errorf("a query printed JSON without --json:\n%s", got)
	}
	if ran < 10 {
		t.Fatalf("ran %d commands", ran)
	}

	// What README.md says of a submission's end, as the CLI does it: the same file again is
	// refused (stale_sequence), nothing committed, exit 1; an authenticated transaction the
	// ledger rejects is committed and exits 2.
	for _, claim := range []string{
		"`stale_sequence` — a sequence number already used, e.g. the same file submitted twice",
		"prints the code\n  and message and exits 1",
		"rejected: CODE: message` and exits 2",
	} {
		if !strings.Contains(text, claim) {
			t.Errorf("README.md no longer says %q", claim)
		}
	}
	if code, out := sh("ipledger tx submit t.tx"); code != 1 || !strings.Contains(out, "stale_sequence") || strings.Contains(out, "committed") {
		t.Errorf("t.tx submitted again: exit %d\n%s", code, out)
	}
	if code, out := sh("ipledger tx pay --as ORG-BOB --key bob --to ORG-ALICE --amount 999999999"); code != 2 || !strings.Contains(out, "rejected: insufficient_funds") {
		t.Errorf("a payment over the balance: exit %d\n%s", code, out)
	}
}
