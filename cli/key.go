package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
)

// Key files live in HOME/keys/NAME.key, mode 0600: JSON with the public key and the
// 32-byte seed in hex.
type keyFile struct {
	Name      string             `json:"name"`
	PublicKey ipledger.PublicKey `json:"public_key"`
	Seed      string             `json:"seed"`
}

var keyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func keyPath(home, name string) string { return filepath.Join(home, "keys", name+".key") }

// createKey writes a new key file; it refuses to overwrite one.
func createKey(home, name string) (ipledger.PrivateKey, error) {
	if !keyNameRE.MatchString(name) {
		return ipledger.PrivateKey{}, fmt.Errorf("key name %q: use letters, digits, '.', '_' and '-'", name)
	}
	k, err := ipledger.GenerateKey(nil)
	if err != nil {
		return k, err
	}
	return k, writeKey(home, name, k)
}

// writeKey writes k as key file name in home; it refuses to overwrite one.
func writeKey(home, name string, k ipledger.PrivateKey) error {
	if err := os.MkdirAll(filepath.Join(home, "keys"), 0o700); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	b, _ := json.MarshalIndent(keyFile{Name: name, PublicKey: k.Public(), Seed: hex.EncodeToString(k.Seed())}, "", "  ")
	f, err := os.OpenFile(keyPath(home, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key %s: %w", name, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("create key %s: %w", name, err)
	}
	return f.Close()
}

// loadKey reads a key file by name.
func loadKey(home, name string) (ipledger.PrivateKey, error) {
	b, err := os.ReadFile(keyPath(home, name))
	if errors.Is(err, os.ErrNotExist) {
		return ipledger.PrivateKey{}, fmt.Errorf("no key %q in %s (create one with: ipledger key create %s)", name, filepath.Join(home, "keys"), name)
	}
	if err != nil {
		return ipledger.PrivateKey{}, fmt.Errorf("load key %s: %w", name, err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return ipledger.PrivateKey{}, fmt.Errorf("load key %s: %w", name, err)
	}
	seed, err := hex.DecodeString(kf.Seed)
	if err != nil {
		return ipledger.PrivateKey{}, fmt.Errorf("load key %s: seed: %w", name, err)
	}
	k, err := ipledger.KeyFromSeed(seed)
	if err != nil {
		return k, fmt.Errorf("load key %s: %w", name, err)
	}
	if k.Public() != kf.PublicKey {
		return k, fmt.Errorf("load key %s: public key does not match the seed", name)
	}
	return k, nil
}

func listKeys(home string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(home, "keys", "*.key"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range m {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".key"))
	}
	sort.Strings(names)
	return names, nil
}

func keyCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "key", Short: "Create, show and list signing keys (HOME/keys, files 0600)"}
	c.AddCommand(&cobra.Command{
		Use: "create NAME", Short: "Create a new ed25519 signing key", Args: cobra.ExactArgs(1),
		RunE: e.inHome(func(cmd *cobra.Command, args []string, home string) error {
			k, err := createKey(home, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s %s\n", args[0], k.Public())
			return nil
		}),
	}, &cobra.Command{
		Use: "show NAME", Short: "Print a key's public half", Args: cobra.ExactArgs(1),
		RunE: e.inHome(func(cmd *cobra.Command, args []string, home string) error {
			k, err := loadKey(home, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, k.Public())
			return nil
		}),
	}, &cobra.Command{
		Use: "list", Short: "List the keys in the home", Args: cobra.NoArgs,
		RunE: e.inHome(func(cmd *cobra.Command, args []string, home string) error {
			names, err := listKeys(home)
			if err != nil {
				return err
			}
			for _, n := range names {
				k, err := loadKey(home, n)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%-24s %s\n", n, k.Public())
			}
			return nil
		}),
	})
	return c
}
