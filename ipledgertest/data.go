package ipledgertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DataDir locates the shared folder of real registry data (delegated/, iana/, rdap/,
// rpki/, …): $IPLEDGER_DATA when set, else ../shared/data beside the root of the module
// that contains the working directory (found by walking up to go.mod). ok is false when
// the folder does not exist; dir is still returned, for messages. PROVENANCE.md there
// says where each file comes from.
func DataDir() (dir string, ok bool) {
	if d := os.Getenv("IPLEDGER_DATA"); d != "" {
		return d, isDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir = filepath.Join(filepath.Dir(d), "shared", "data")
			return dir, isDir(dir)
		}
		up := filepath.Dir(d)
		if up == d {
			return "", false
		}
		d = up
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// DataPath returns the path of rel (slash-separated, e.g. "delegated/2014-06/
// delegated-afrinic-latest") in the shared data folder, whether or not it exists: for
// optional inputs such as fuzz seeds.
func DataPath(rel string) string {
	dir, _ := DataDir()
	return filepath.Join(dir, filepath.FromSlash(rel))
}

// Data returns DataPath(rel) when that file or folder exists. When it does not, Data
// fails tb under CI=true (where the data must be present) and skips it elsewhere, saying
// where the data are published.
func Data(tb testing.TB, rel string) string {
	tb.Helper()
	p := DataPath(rel)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	missing(tb, "no real data at "+p+" (set IPLEDGER_DATA to the shared data folder; "+publisher(rel)+")")
	return ""
}

// publishers say, by the first folder of a path in the shared data, who publishes its files.
var publishers = map[string]string{
	"delegated": "the RIRs publish delegated statistics at https://ftp.ripe.net/pub/stats/ and their own FTP sites",
	"iana":      "IANA publishes its number registries at https://www.iana.org/assignments/",
	"rdap":      "IANA publishes the RDAP bootstrap files at https://data.iana.org/rdap/",
	"rpki":      "the RPKI snapshot is an rpki-client run of 2025-07-20 from jeffsw/rpkilog's test_data",
	"rpsl":      "the RIRs publish their databases' RPSL dumps on their FTP sites, e.g. https://ftp.ripe.net/ripe/dbase/",
	"geofeed":   "operators publish geofeeds at the URLs in their inetnum geofeed: attributes (RFC 9632)",
}

func publisher(rel string) string {
	first, _, _ := strings.Cut(rel, "/")
	if p, ok := publishers[first]; ok {
		return p + "; see PROVENANCE.md"
	}
	return "see PROVENANCE.md in the shared data folder"
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
	missing(tb, name+" not found ("+install+"; scripts/test.sh installs it)")
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
