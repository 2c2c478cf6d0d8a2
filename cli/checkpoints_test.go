package cli

import (
	"strconv"
	"testing"

	"github.com/spf13/pflag"
)

// TestCheckpointsFlag: checkpoint signing is on unless --checkpoints=false (or the config
// file's "checkpoints": false) turns it off; the flag given wins over the file and is kept
// in it; the zero serveFlags signs.
func TestCheckpointsFlag(t *testing.T) {
	off, on := false, true
	for _, c := range []struct {
		name    string
		args    []string
		file    *bool
		wantOff bool
	}{
		{"default", nil, nil, false},
		{"flag off", []string{"--checkpoints=false"}, nil, true},
		{"flag bare", []string{"--checkpoints"}, &off, false},
		{"file off", nil, &off, true},
		{"file on", nil, &on, false},
		{"flag on over file off", []string{"--checkpoints=true"}, &off, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sf serveFlags
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			sf.register(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			cfg := &Config{}
			if c.file != nil {
				if err := cfg.Set("checkpoints", strconv.FormatBool(*c.file)); err != nil {
					t.Fatal(err)
				}
			}
			if err := sf.resolve(fs, cfg); err != nil {
				t.Fatal(err)
			}
			if sf.noCheckpoints != c.wantOff {
				t.Fatalf("noCheckpoints %v, want %v", sf.noCheckpoints, c.wantOff)
			}
			saved := &Config{}
			sf.store(fs, saved)
			if len(c.args) > 0 && saved.Get("checkpoints") != strconv.FormatBool(!c.wantOff) {
				t.Fatalf("stored %q", saved.Get("checkpoints"))
			}
		})
	}
	if (serveFlags{}).noCheckpoints {
		t.Fatal("the zero serveFlags signs no checkpoints")
	}
	var sf serveFlags
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	sf.register(fs)
	if err := fs.Parse([]string{"--checkpoints=maybe"}); err == nil {
		t.Fatal("--checkpoints=maybe accepted")
	}
}
