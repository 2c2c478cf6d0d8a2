package witness

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// KeyPath returns the path of the witness key in dir.
func KeyPath(dir string) string { return filepath.Join(dir, "witness.key") }

// LoadOrCreateKey returns the witness's cosigner from dir, creating dir and the key (named
// name, or "ipledger-witness-" and a random suffix if name is empty) on first use.
func LoadOrCreateKey(dir, name string) (*Signer, error) {
	if dir == "" {
		return nil, errors.New("witness key: no directory")
	}
	path := KeyPath(dir)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("witness key: %w", err)
		}
		if name == "" {
			var r [4]byte
			rand.Read(r[:])
			name = "ipledger-witness-" + hex.EncodeToString(r[:])
		}
		skey, vkey, gerr := GenerateKey(name)
		if gerr != nil {
			return nil, fmt.Errorf("witness key: %w", gerr)
		}
		// Two witnesses starting on a fresh directory must not each use a key of its own:
		// the first key written stays, and both read it back.
		if err := createFile(path, []byte(skey+"\n"+vkey+"\n")); err != nil {
			return nil, fmt.Errorf("witness key: %w", err)
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) < 1 {
		return nil, fmt.Errorf("witness key %s: empty", path)
	}
	s, err := NewSigner(lines[0])
	if err != nil {
		return nil, fmt.Errorf("witness key %s: %w", path, err)
	}
	return s, nil
}

// writeFileAtomic replaces path with b so that a crash leaves either the old or the new
// contents: a synced temporary file renamed over it, then the directory synced so the
// rename itself is durable.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := writeTemp(path, b)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// createFile writes path with b, durably, unless path exists already (then it leaves it
// as it is and returns nil).
func createFile(path string, b []byte) error {
	tmp, err := writeTemp(path, b)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link, unlike a rename, never replaces an existing file.
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeTemp writes b to a new temporary file (mode 0600) beside path and syncs it; it
// returns the file's name, or an error with nothing left behind.
func writeTemp(path string, b []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// lockDir takes an exclusive lock on dir/LOCK, so two witnesses never share a directory
// (each would check requests against a state the other may be replacing).
func lockDir(dir string) (func() error, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock witness directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock witness directory %s: another witness is using it: %w", dir, err)
	}
	return f.Close, nil
}
