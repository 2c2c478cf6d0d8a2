package importer

import (
	"os"
	"path/filepath"
)

// DataDir locates the shared folder of real registry data (delegated/, iana/, rpki/, …):
// $IPLEDGER_DATA when set, else ../shared/data beside the root of the module that contains
// the working directory (found by walking up to go.mod). ok is false when that folder does
// not exist; the path is still returned, for messages.
//
// The files come from IANA and the RIRs (for delegated statistics
// https://ftp.ripe.net/pub/stats/ and the other RIRs' FTP sites); see PROVENANCE.md there.
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
