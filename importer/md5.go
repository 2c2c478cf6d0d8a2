package importer

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrChecksum means a data file does not match the .md5 file beside it. Check for it with
// errors.Is.
var ErrChecksum = errors.New("checksum mismatch")

// wantMD5 reads the digest path+".md5" gives for path: "" when there is no such file.
func wantMD5(path string) (string, error) {
	b, err := os.ReadFile(path + ".md5")
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read checksum: %w", err)
	}
	want, err := parseMD5File(b, filepath.Base(path))
	if err != nil {
		return "", fmt.Errorf("%s.md5: %w", path, err)
	}
	return want, nil
}

// checkMD5 compares the digest of path's bytes as stored (compressed, for a compressed
// file) with the one its .md5 file gave.
func checkMD5(path, want string, h hash.Hash) error {
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return fmt.Errorf("%s: %w: %s.md5 says %s, the file's MD5 is %s", path, ErrChecksum, filepath.Base(path), want, got)
	}
	return nil
}

// parseMD5File reads the digest for the file called name from the text of a .md5 file, in
// any of the forms the RIRs publish: BSD "MD5 (name) = hex", GNU md5sum "hex  name" (or
// "hex *name"), or a bare "hex". With several lines, the one naming name is used.
func parseMD5File(b []byte, name string) (string, error) {
	var digests []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		digest, file, err := parseMD5Line(line)
		if err != nil {
			return "", err
		}
		if file == name {
			return digest, nil
		}
		digests = append(digests, digest)
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	switch {
	case len(digests) == 0:
		return "", fmt.Errorf("no digest in it")
	case len(digests) > 1:
		return "", fmt.Errorf("%d digests and none for %s", len(digests), name)
	}
	// One digest under another name (or none): the data file was renamed after download.
	return digests[0], nil
}

// parseMD5Line returns the lower-case hex digest and the file name ("" for a bare digest).
func parseMD5Line(line string) (digest, file string, err error) {
	if rest, ok := strings.CutPrefix(line, "MD5 ("); ok {
		i := strings.LastIndex(rest, ") = ")
		if i < 0 {
			return "", "", fmt.Errorf("unrecognised line %q", line)
		}
		file, digest = rest[:i], rest[i+len(") = "):]
	} else {
		digest, file, _ = strings.Cut(line, " ")
		file = strings.TrimPrefix(strings.TrimLeft(file, " "), "*")
	}
	digest = strings.ToLower(strings.TrimSpace(digest))
	if len(digest) != 2*md5.Size {
		return "", "", fmt.Errorf("unrecognised line %q", line)
	}
	if _, err := hex.DecodeString(digest); err != nil {
		return "", "", fmt.Errorf("unrecognised line %q", line)
	}
	if file != "" {
		file = filepath.Base(file)
	}
	return digest, file, nil
}
