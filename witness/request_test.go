package witness

import (
	"bytes"
	"strings"
	"testing"
)

// specExample is the request body in C2SP tlog-witness.
const specExample = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`

func TestParseAddCheckpoint(t *testing.T) {
	r, err := ParseAddCheckpoint([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	if r.OldSize != 20852014 || len(r.Proof) != 4 || !strings.HasPrefix(string(r.Checkpoint), "example.com/behind-the-sofa\n20852163\n") {
		t.Fatalf("%+v", r)
	}
	if !bytes.Equal(r.Marshal(), []byte(specExample)) {
		t.Fatalf("round trip:\n%s", r.Marshal())
	}
	if r, err := ParseAddCheckpoint([]byte("old 0\n\nx\n")); err != nil || r.OldSize != 0 || len(r.Proof) != 0 || string(r.Checkpoint) != "x\n" {
		t.Fatalf("old 0: %+v %v", r, err)
	}
	hash := "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
	for name, body := range map[string]string{
		"empty":              "",
		"no newline":         "old 5",
		"no blank line":      "old 5\n" + hash,
		"no checkpoint":      "old 5\n" + hash + "\n",
		"leading zero":       "old 05\n\nx\n",
		"sign":               "old +5\n\nx\n",
		"two spaces":         "old  5\n\nx\n",
		"overflow":           "old 18446744073709551616\n\nx\n",
		"no number":          "old \n\nx\n",
		"other word":         "new 5\n\nx\n",
		"short hash":         "old 5\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpka==\n\nx\n",
		"unpadded hash":      "old 5\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw\n\nx\n",
		"non-canonical hash": "old 5\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkax=\n\nx\n",
		"carriage return":    "old 5\r\n\nx\n",
		"64 proof lines":     "old 5\n" + strings.Repeat(hash, 64) + "\nx\n",
	} {
		if _, err := ParseAddCheckpoint([]byte(body)); err == nil {
			t.Errorf("%s: %q accepted", name, body)
		}
	}
	if _, err := ParseAddCheckpoint([]byte("old 5\n" + strings.Repeat(hash, 63) + "\nx\n")); err != nil {
		t.Errorf("63 proof lines: %v", err)
	}
}

func TestParseSizeBody(t *testing.T) {
	if n, err := ParseSizeBody([]byte("20852014\n")); err != nil || n != 20852014 {
		t.Fatalf("%d %v", n, err)
	}
	for _, bad := range []string{"", "\n", "5", "05\n", "5 \n", "-1\n", "5\n\n"} {
		if _, err := ParseSizeBody([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
