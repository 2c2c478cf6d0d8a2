package main

import (
	"compress/bzip2"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/vrp"
)

// snapshotFile returns the path of the real 2025-07-20 rpki-client snapshot (723,524 VRPs,
// 100 ASPAs, 2 router keys); a missing file fails the test under CI=true and skips it
// elsewhere.
func snapshotFile(t *testing.T) string {
	t.Helper()
	return ipledgertest.Data(t, "rpki/rpkiclient_summary_20250720T100145Z.json.bz2")
}

// readSnapshot reads the real snapshot, expired entries kept.
func readSnapshot(t *testing.T) *vrp.Set {
	t.Helper()
	r, err := os.Open(snapshotFile(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	j, err := vrp.ReadJSON(bzip2.NewReader(r), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return j.Set
}

// writeBothForms writes every tenth VRP of set, its router keys and its ASPAs, expiring a
// day from now, as one JSON file both servers read: rpki-client's form (roas, bgpsec_keys,
// aspas) and, for the ASPAs again, the provider_authorizations member (one list per address
// family) that is all StayRTR 0.5.1 reads of them. ipledger reads both and merges them into
// the same ASPAs (TestVRPFileExpiredStatus serves rpki-client's form alone).
func writeBothForms(t *testing.T, path string, set *vrp.Set) (vrps int) {
	t.Helper()
	now := time.Now()
	exp := now.Add(24 * time.Hour).Unix()
	var b strings.Builder
	fmt.Fprintf(&b, "{\"metadata\": {\"buildtime\": %q},\n\"roas\": [", now.UTC().Format(time.RFC3339))
	i := 0
	for v := range set.All() {
		i++
		if i%10 != 0 {
			continue
		}
		if vrps > 0 {
			b.WriteString(",")
		}
		vrps++
		fmt.Fprintf(&b, "\n{\"asn\": %d, \"prefix\": %q, \"maxLength\": %d, \"ta\": %q, \"expires\": %d}", v.ASN, v.Prefix, v.MaxLength, v.Source, exp)
	}
	b.WriteString("],\n\"bgpsec_keys\": [")
	for k := range set.Keys() {
		if !strings.HasSuffix(b.String(), "[") {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n{\"asn\": %d, \"ski\": \"%X\", \"pubkey\": %q, \"ta\": %q, \"expires\": %d}", k.ASN, k.SKI, base64.StdEncoding.EncodeToString([]byte(k.SPKI)), k.Source, exp)
	}
	var aspas []string
	for a := range set.ASPAs() {
		ps, _ := json.Marshal(a.Providers)
		aspas = append(aspas, fmt.Sprintf("{\"customer_asid\": %d, \"providers\": %s", a.Customer, ps))
	}
	b.WriteString("],\n\"aspas\": [")
	for i, a := range aspas {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n%s, \"expires\": %d}", a, exp)
	}
	pa := strings.Join(aspas, "},\n") + "}"
	fmt.Fprintf(&b, "],\n\"provider_authorizations\": {\"ipv4\": [%s],\n\"ipv6\": [%s]}\n}\n", pa, pa)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return vrps
}

// dump is what rtrdump wrote.
type dump struct {
	VRPs  []string
	Keys  []string
	ASPAs map[string][]string // by address family: "AS945 → 13213,150369"
}

// rtrdump runs StayRTR's rtrdump against addr, at its default version when v < 0.
func rtrdump(t *testing.T, addr string, v int) dump {
	t.Helper()
	prog := ipledgertest.Program(t, "rtrdump", "Debian package stayrtr")
	out := filepath.Join(t.TempDir(), "rtrdump.json")
	args := []string{"-connect", addr, "-file", out}
	if v >= 0 {
		args = append(args, "-rtr.version", strconv.Itoa(v))
	}
	if b, err := ipledgertest.RunTimeout(60*time.Second, prog, args...); err != nil {
		t.Fatalf("rtrdump %q: %v\n%s", args, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		ROAs []struct {
			Prefix    string `json:"prefix"`
			MaxLength int    `json:"maxLength"`
			ASN       uint32 `json:"asn"`
		} `json:"roas"`
		Keys []struct {
			ASN    uint32 `json:"asn"`
			SKI    string `json:"ski"`
			Pubkey string `json:"pubkey"`
		} `json:"bgpsec_keys"`
		ASPAs map[string][]struct {
			Customer  uint32   `json:"customer_asid"`
			Providers []uint32 `json:"providers"`
		} `json:"provider_authorizations"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("rtrdump output: %v", err)
	}
	var r dump
	for _, x := range d.ROAs {
		r.VRPs = append(r.VRPs, fmt.Sprintf("%s-%d AS%d", x.Prefix, x.MaxLength, x.ASN))
	}
	for _, k := range d.Keys {
		r.Keys = append(r.Keys, fmt.Sprintf("AS%d %s %s", k.ASN, strings.ToUpper(k.SKI), k.Pubkey))
	}
	for fam, as := range d.ASPAs {
		if r.ASPAs == nil {
			r.ASPAs = map[string][]string{}
		}
		for _, a := range as {
			r.ASPAs[fam] = append(r.ASPAs[fam], fmt.Sprintf("AS%d → %v", a.Customer, a.Providers))
		}
		slices.Sort(r.ASPAs[fam])
	}
	slices.Sort(r.VRPs)
	slices.Sort(r.Keys)
	return r
}

// startStayRTR runs StayRTR 0.5.1 on file and waits until its RTR port accepts connections.
func startStayRTR(t *testing.T, file string) string {
	t.Helper()
	prog := ipledgertest.Program(t, "stayrtr", "Debian package stayrtr")
	addr := ipledgertest.FreeAddr(t)
	p := startProc(t, prog, "-bind", addr, "-cache", file, "-checktime=false", "-metrics.addr", ipledgertest.FreeAddr(t))
	waitListen(t, addr, 60*time.Second, p.out.String)
	return addr
}

// TestRTRVersion2 serves a tenth of the real snapshot (72,352 VRPs) with its 2 router keys
// and 100 ASPAs, and fetches it with StayRTR's rtrdump at its default version, 2 (which
// got an Error Report and wrote an empty dump before ipledger spoke version 2): the VRPs,
// keys and ASPAs (each once per address family) are those rtrdump gets from StayRTR 0.5.1
// serving the same file. At -rtr.version 1 and 0 rtrdump gets the same VRPs and no ASPAs.
func TestRTRVersion2(t *testing.T) {
	binary(t)
	file := filepath.Join(t.TempDir(), "vrps.json")
	nVRPs := writeBothForms(t, file, readSnapshot(t))

	var stay dump
	var wg sync.WaitGroup
	wg.Go(func() { stay = rtrdump(t, startStayRTR(t, file), -1) })
	n := startRTRNode(t, "--vrps-file", file)
	got := rtrdump(t, n.rtr, -1)
	wg.Wait()
	if t.Failed() {
		return
	}

	if len(got.VRPs) != nVRPs || len(got.Keys) != 2 || len(got.ASPAs["ipv4"]) != 100 || len(got.ASPAs["ipv6"]) != 100 {
		t.Errorf("rtrdump from ipledger: %d VRPs, %d keys, %d+%d ASPAs; want %d, 2, 100+100", len(got.VRPs), len(got.Keys), len(got.ASPAs["ipv4"]), len(got.ASPAs["ipv6"]), nVRPs)
	}
	if !slices.Equal(got.VRPs, stay.VRPs) {
		t.Errorf("VRPs: ipledger %d, stayrtr %d, or they differ", len(got.VRPs), len(stay.VRPs))
	}
	if !slices.Equal(got.Keys, stay.Keys) {
		t.Errorf("router keys: ipledger %q, stayrtr %q", got.Keys, stay.Keys)
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		if !slices.Equal(got.ASPAs[fam], stay.ASPAs[fam]) {
			t.Errorf("%s ASPAs differ: ipledger %d, stayrtr %d", fam, len(got.ASPAs[fam]), len(stay.ASPAs[fam]))
		}
	}

	for _, v := range []int{1, 0} {
		d := rtrdump(t, n.rtr, v)
		if !slices.Equal(d.VRPs, got.VRPs) || d.ASPAs != nil || (len(d.Keys) == 2) != (v == 1) {
			t.Errorf("rtrdump -rtr.version %d: %d VRPs, %d keys, ASPAs %v; want %d, %d, none", v, len(d.VRPs), len(d.Keys), d.ASPAs, len(got.VRPs), 2*v)
		}
	}
}

// TestVRPFileExpiredStatus serves the real snapshot as it is, every entry expired
// (2025-07-20, all before 2025-08): the node says so once at WARN with the counts, and
// /v1/status (and `ipledger query status --json`'s source) carries them.
func TestVRPFileExpiredStatus(t *testing.T) {
	set := readSnapshot(t)
	file := filepath.Join(t.TempDir(), "vrps.json")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := vrp.WriteJSON(f, set, time.Date(2025, 7, 20, 10, 1, 43, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	n := startRTRNode(t, "--vrps-file", file)
	c := &client.Client{Base: "http://" + n.addr, HTTP: http.DefaultClient}
	var st ipledger.NodeStatus
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if st, err = c.Status(t.Context()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	want := 723524 + 2 + 100
	if v := st.VRPs; v == nil || v.Served != 0 || v.DroppedExpired != want || v.File != file || v.FileServed != 0 {
		t.Errorf("/v1/status vrps: %+v; want 0 served, %d dropped as expired, file %s", v, want, file)
	}
	warns := 0
	for line := range strings.Lines(n.out.String()) {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "every entry has expired") {
			warns++
			if !strings.Contains(line, "dropped_expired="+strconv.Itoa(want)) {
				t.Errorf("WARN line without the count: %s", line)
			}
		}
	}
	if warns != 1 {
		t.Errorf("%d WARN lines about the expired file, want 1", warns)
	}
	if m := string(ipledgertest.Get(t, "http://"+n.addr+"/metrics")); !strings.Contains(m, "ipledger_vrp_file_dropped_expired "+strconv.Itoa(want)) {
		t.Errorf("/metrics lacks ipledger_vrp_file_dropped_expired %d", want)
	}
}
