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
	home := filepath.Join(t.TempDir(), "reg")
	if out, err := exec.Command(binary(t), "init", "--home", home, "--chain-id", "walkthrough").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	p := startNode(t, home)
	bin := filepath.Dir(binary(t))
	var transcript strings.Builder
	ran := 0
	for _, line := range strings.Split(block[1], "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "export ") {
			continue
		}
		cmd := exec.Command("bash", "-c", "set -e; "+line)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "IPLEDGER_HOME="+home, "IPLEDGER_NODE=http://"+p.addr)
		out, err := cmd.CombinedOutput()
		transcript.WriteString("$ " + line + "\n" + string(out))
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, transcript.String())
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
		`"asn": 64500`,
		`"balance": 512`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("walk-through output lacks %q:\n%s", want, got)
		}
	}
	if ran < 10 {
		t.Fatalf("ran %d commands", ran)
	}
}
