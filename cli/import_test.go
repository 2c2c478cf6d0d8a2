package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/importer"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// replaySubmitter feeds an import straight into the application, without consensus: each
// WaitCommit closes the pending block, so the import runs through the same CheckTx-free
// FinalizeBlock path a node takes.
type replaySubmitter struct {
	r       *chain.Replayer
	height  int64
	pending [][]byte
	size    int
	results map[ipledger.Hash]ipledger.Code
}

func (s *replaySubmitter) Submit(ctx context.Context, tx []byte) (ipledger.Hash, error) {
	if s.size+len(tx) > 16<<20 {
		if err := s.flush(ctx); err != nil {
			return ipledger.Hash{}, err
		}
	}
	s.pending = append(s.pending, tx)
	s.size += len(tx)
	return ipledger.HashTx(tx), nil
}

func (s *replaySubmitter) flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	s.height++
	_, codes, err := s.r.Apply(ctx, chain.ReplayBlock{Height: s.height, Time: time.Unix(1700000000+s.height, 0).UTC(), Txs: s.pending})
	if err != nil {
		return err
	}
	for i, tx := range s.pending {
		s.results[ipledger.HashTx(tx)] = ipledger.Code(codes[i])
	}
	s.pending, s.size = nil, 0
	return nil
}

func (s *replaySubmitter) WaitCommit(ctx context.Context, h ipledger.Hash) (ipledger.Code, string, error) {
	if err := s.flush(ctx); err != nil {
		return 0, "", err
	}
	return s.results[h], "", nil
}

func (s *replaySubmitter) Sequence(ctx context.Context, org string) (uint64, error) {
	o, err := ledger.Org(s.r.App().Committed().State, org)
	if err != nil || o == nil {
		return 0, err
	}
	return o.Sequence, nil
}

func (s *replaySubmitter) Pools(context.Context) ([]importer.Pool, error) {
	return statePools(s.r.App().Committed().State)
}

func newReplaySubmitter(t *testing.T, keys map[string]ipledger.PrivateKey) *replaySubmitter {
	t.Helper()
	g := &ledger.Genesis{}
	for _, h := range ipledger.Registries {
		g.Registries = append(g.Registries, ledger.GenesisOrg{Handle: h, Name: ipledgertest.RegistryName(h), Keys: []ipledger.PublicKey{keys[h].Public()}})
	}
	g.Pools = iana.DefaultPools()
	r, err := chain.NewReplayer(context.Background(), t.TempDir(), "import-test", time.Unix(1700000000, 0).UTC(), g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// Block 1 commits genesis, as on a node.
	if _, _, err := r.Apply(context.Background(), chain.ReplayBlock{Height: 1, Time: time.Unix(1700000001, 0).UTC()}); err != nil {
		t.Fatal(err)
	}
	return &replaySubmitter{r: r, height: 1, results: map[ipledger.Hash]ipledger.Code{}}
}

// TestImportEveryDateFolder puts every date folder of real delegated statistics on a fresh
// ledger through signed transactions, and checks that every transaction succeeds and every
// planned holding is on the ledger with its holder, status and date.
func TestImportEveryDateFolder(t *testing.T) {
	dir := ipledgertest.Data(t, "delegated")
	folders, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(folders) == 0 {
		t.Fatalf("no date folders under %s: %v", dir, err)
	}
	for _, folder := range folders {
		t.Run(filepath.Base(folder), func(t *testing.T) {
			if testing.Short() && filepath.Base(folder) != "samples-2019-09-truncated" {
				t.Skip("short mode: samples only")
			}
			keys := map[string]ipledger.PrivateKey{}
			for _, h := range ipledger.Registries {
				k, _ := ipledger.GenerateKey(nil)
				keys[h] = k
			}
			sub := newReplaySubmitter(t, keys)
			if err := runImport(context.Background(), sub, importJob{keys: keys, chainID: "import-test", paths: []string{folder}, out: io.Discard, progress: io.Discard}); err != nil {
				t.Fatal(err)
			}
			// Every planned allocation is on the ledger as planned.
			files, err := importer.ParseDir(folder, false)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := importer.PlanImport(files, iana.DefaultPools(), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			state := sub.r.App().Committed().State
			checked := 0
			for _, st := range plan.Steps {
				body, ok := st.Body.(*ipledger.AllocateBody)
				if !ok {
					continue
				}
				for i, it := range body.Items {
					if i%97 != 0 { // a sample: the full set is checked by the ledger's own overlap rules
						continue
					}
					chain, err := ledger.Lookup(state, it.Resource)
					if it.Org == st.Signers[0] {
						// Available or reserved space: the registry's pool of that status
						// (merged with adjacent space of the same status).
						if err != nil || len(chain) != 1 || chain[0].Holder != it.Org || chain[0].Status != it.Status || !chain[0].Resource.Contains(it.Resource) {
							t.Fatalf("%s not on the ledger as %s pool space of %s: %v %v", it.Resource, it.Status, it.Org, chain, err)
						}
						checked++
						continue
					}
					if err != nil || len(chain) < 2 {
						t.Fatalf("%s (%s) not on the ledger: %v", it.Resource, it.Org, err)
					}
					h := chain[1]
					if h.Resource != it.Resource || h.Holder != it.Org || h.Status != it.Status || h.Registered != it.Registered {
						b, _ := json.Marshal(h)
						t.Fatalf("%s planned for %s %s %s, ledger has %s", it.Resource, it.Org, it.Status, it.Registered, b)
					}
					if chain[0].Holder != st.Signers[0] {
						t.Fatalf("%s lies in a pool of %s, allocated by %s", it.Resource, chain[0].Holder, st.Signers[0])
					}
					checked++
				}
			}
			if plan.Stats.Holdings > 0 && checked == 0 {
				t.Fatal("checked nothing")
			}
			t.Logf("%d records, %d holdings (%d sampled and checked), %d organisations, %d transfers, %d flaws",
				plan.Stats.Records, plan.Stats.Holdings, checked, plan.Stats.Orgs, plan.Stats.Transfers, plan.Stats.Skipped)
		})
	}
}

// samplesDir returns the folder of truncated real samples, skipping (failing under CI)
// without the shared data.
func samplesDir(t *testing.T) string {
	t.Helper()
	return ipledgertest.Data(t, "delegated/samples-2019-09-truncated")
}

func gzipFile(t *testing.T, src, dst string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b)
	z.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// bzip2File compresses with Debian's bzip2, as the RIRs' archives are.
func bzip2File(t *testing.T, src, dst string) string {
	t.Helper()
	b, err := exec.Command(ipledgertest.Program(t, "bzip2", "Debian package bzip2"), "-c", src).Output()
	if err != nil {
		t.Fatalf("bzip2: %v", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// flawedLacnic writes the LACNIC sample with bad lines registries 10 to 10+n-1 (an unknown
// registry word) and the header's dates replaced when header is not "".
func flawedLacnic(t *testing.T, samples, dst string, n int, header string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, "lacnic"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i := 9; i < 9+n; i++ {
		if !strings.HasPrefix(lines[i], "lacnic|") || strings.HasSuffix(lines[i], "summary\n") {
			t.Fatalf("line %d is %q", i+1, lines[i])
		}
		lines[i] = "lacnix|" + strings.TrimPrefix(lines[i], "lacnic|")
	}
	if header != "" {
		for i, l := range lines {
			if strings.HasPrefix(l, "2.3|lacnic|") {
				lines[i] = header + "\n"
			}
		}
	}
	if err := os.WriteFile(dst, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestImportRefused runs `ipledger import delegated` against a node that only answers
// its status: a file of nothing but flaws and files of different dates are refused with
// exit 1 and a message naming them, before anything is submitted; --strict stops at the
// first flaw.
func TestImportRefused(t *testing.T) {
	samples := samplesDir(t)
	home := t.TempDir()
	if code, _, errs := run("init", "--home", home, "--chain-id", "fake-chain"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	node := &fakeNode{}
	url := serveNode(t, node)
	dir := t.TempDir()
	afrinic := gzipFile(t, filepath.Join(samples, "afrinic"), filepath.Join(dir, "afrinic.gz"))
	page := filepath.Join(dir, "delegated-apnic-latest.gz")
	if err := os.WriteFile(page, []byte("<html><head><title>404 Not Found</title></head>\n<body>Not Found</body></html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := flawedLacnic(t, samples, filepath.Join(dir, "lacnic-2014"), 0, "2.3|lacnic|20140629|300|19870101|20140627|-0300")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"every line a flaw", []string{afrinic, page},
			"ipledger: import: " + page + ": not readable as delegated statistics: no records, 3 flaws (the first: " + page + ": no header line"},
		{"different dates", []string{afrinic, old},
			"ipledger: import: files of different dates, 2014-06-29 to 2019-09-09, more than 7 days apart: " + afrinic + " 2019-09-09, " + old + " 2014-06-29; a chain holds one date of the registries: import files of one date, or pass --mixed-dates to import them together"},
		{"different dates, a folder", []string{samples, old}, "files of different dates, 2014-06-29 to 2019-09-11"},
		{"strict stops at the first flaw", []string{"--strict", afrinic}, "ipledger: import: " + afrinic + ":1: header declares 100 records, the file has 300\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(append([]string{"import", "delegated", "--home", home, "--node", url}, c.args...)...)
			if code != 1 || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stdout %q\nstderr %q\nwant %q", code, out, errs, c.want)
			}
		})
	}
	if len(node.got) != 0 {
		t.Errorf("%d transactions submitted", len(node.got))
	}
}

// TestImportCommand runs `ipledger dev` and then `ipledger import delegated` as a user
// would, on real samples gzipped and bzip2'd here: the refusals leave the chain fresh,
// --mixed-dates imports, the summary names the first 20 flaws as file:line: reason and
// counts the rest, and the compressed files' records are on the ledger.
func TestImportCommand(t *testing.T) {
	samples := samplesDir(t)
	home, dir := t.TempDir(), t.TempDir()
	addr := ipledgertest.FreeAddr(t)
	dev := startDev(t, "--home", home, "--http", addr, "--demo=false")
	t.Cleanup(func() {
		if code := dev.stop(); code != 0 {
			t.Errorf("dev exited %d", code)
		}
	})
	ctx := t.Context()
	url := "http://" + addr
	cl := &client.Client{Base: url}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if st, err := cl.Status(ctx); err == nil && st.Height >= 1 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("dev did not start")
		}
	}
	afrinic := gzipFile(t, filepath.Join(samples, "afrinic"), filepath.Join(dir, "delegated-afrinic-latest.gz"))
	apnic := bzip2File(t, filepath.Join(samples, "apnic"), filepath.Join(dir, "delegated-apnic-latest.bz2"))
	lacnic := flawedLacnic(t, samples, filepath.Join(dir, "delegated-lacnic-latest"), 25, "2.3|lacnic|20140629|300|19870101|20140627|-0300")
	imp := func(args ...string) (int, string, string) {
		return run(append([]string{"import", "delegated", "--home", home, "--node", url}, args...)...)
	}
	if code, out, errs := imp(afrinic, apnic, lacnic); code != 1 || !strings.Contains(errs, "files of different dates") {
		t.Fatalf("different dates: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := imp("--mixed-dates", afrinic, apnic, lacnic)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "import: --mixed-dates: files of different dates") {
		t.Errorf("stderr does not say the dates were mixed: %s", errs)
	}
	// The summary, then the afrinic sample's flaw and the first 19 of LACNIC's 25.
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{afrinic + ":1: header declares 100 records, the file has 300"}
	for i := 10; i < 29; i++ {
		want = append(want, fmt.Sprintf(`%s:%d: unknown registry "lacnix"`, lacnic, i))
	}
	want = append(want, "… and 6 more")
	if len(lines) != 22 || !strings.HasPrefix(lines[0], "import: 3 files, 875 records,") || !strings.Contains(lines[0], ", 26 skipped lines (flaws),") ||
		strings.Join(lines[1:], "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout:\n%s\nwant the summary, then:\n%s", out, strings.Join(want, "\n"))
	}
	// The compressed files' records are on the ledger, held by their organisations.
	for _, c := range []struct{ res, registry string }{{"AS1228", ipledger.AFRINIC}, {"AS173", ipledger.APNIC}, {"AS278", ipledger.LACNIC}} {
		info, err := cl.Resource(ctx, c.res)
		if err != nil || len(info.Chain) < 2 || info.Chain[0].Holder != c.registry || info.Chain[1].Resource.String() != c.res {
			t.Errorf("%s: %+v, %v", c.res, info, err)
		}
	}
	// The chain is no longer fresh: a second import is refused.
	if code, _, errs := imp(afrinic); code != 1 || !strings.Contains(errs, "fresh chain") {
		t.Errorf("second import: exit %d, %s", code, errs)
	}
}

// TestImportProgressLines: when the progress writer is no terminal, a line every few
// seconds, and none for an import shorter than that.
func TestImportProgressLines(t *testing.T) {
	var b bytes.Buffer
	clock := time.Unix(0, 0)
	p := newImportProgress(&b, 1000, 10, 5*time.Second)
	p.now = func() time.Time { return clock }
	p.start, p.last = clock, clock
	for i := 0; i < 10; i++ { // 100 items a second: submitted in 10 s
		clock = clock.Add(time.Second)
		p.submitted(100)
	}
	for i := 0; i < 10; i++ { // a commit a second
		clock = clock.Add(time.Second)
		p.committed()
	}
	p.finish()
	want := "importing: 500 of 1000 items submitted (50%), 5 s\n" +
		"importing: all 1000 items submitted, 0 of 10 transactions seen committed, 10 s\n" +
		"importing: all 1000 items submitted, 5 of 10 transactions seen committed, 15 s\n" +
		"importing: all 1000 items submitted, 10 of 10 transactions seen committed, 20 s\n"
	if b.String() != want {
		t.Errorf("progress:\n%s\nwant\n%s", b.String(), want)
	}

	// A whole import: lines with a short interval, none with the default.
	samples := samplesDir(t)
	for _, c := range []struct {
		every time.Duration
		lines bool
	}{{time.Nanosecond, true}, {0, false}} {
		keys := map[string]ipledger.PrivateKey{}
		for _, h := range ipledger.Registries {
			k, _ := ipledger.GenerateKey(nil)
			keys[h] = k
		}
		var out, progress bytes.Buffer
		sub := newReplaySubmitter(t, keys)
		if err := runImport(context.Background(), sub, importJob{keys: keys, chainID: "import-test", paths: []string{samples}, out: &out, progress: &progress, every: c.every}); err != nil {
			t.Fatal(err)
		}
		n := strings.Count(progress.String(), "importing: ")
		if c.lines != (n > 0) || strings.Count(progress.String(), "\n") != n {
			t.Errorf("every %v: %d lines:\n%s", c.every, n, progress.String())
		}
	}
}
