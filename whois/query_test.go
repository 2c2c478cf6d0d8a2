package whois

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	for _, c := range []struct {
		line string
		want Query
		code int // QueryError code, 0 for success
	}{
		{line: "193.0.0.1", want: Query{Key: "193.0.0.1"}},
		{line: "  as3333  ", want: Query{Key: "AS3333"}},
		{line: "-r -B -T inetnum,aut-num 193.0.0.1", want: Query{Key: "193.0.0.1", NoRecurse: true, NoFilter: true, Types: []string{"inetnum", "aut-num"}}},
		{line: "-rBT INETNUM 193.0.0.1", want: Query{Key: "193.0.0.1", NoRecurse: true, NoFilter: true, Types: []string{"inetnum"}}},
		{line: "-Tinetnum 193.0.0.1", want: Query{Key: "193.0.0.1", Types: []string{"inetnum"}}},
		{line: "-x 193.0.0.0/24", want: Query{Key: "193.0.0.0/24", Level: LevelExact}},
		{line: "-l x", want: Query{Key: "X", Level: LevelOneLess}},
		{line: "-L x", want: Query{Key: "X", Level: LevelAllLess}},
		{line: "-m x", want: Query{Key: "X", Level: LevelOneMore}},
		{line: "-M x", want: Query{Key: "X", Level: LevelAllMore}},
		{line: "--exact --no-referenced --no-filtering x", want: Query{Key: "X", Level: LevelExact, NoRecurse: true, NoFilter: true}},
		{line: "--select-types inetnum x", want: Query{Key: "X", Types: []string{"inetnum"}}},
		{line: "--select-types=inetnum x", want: Query{Key: "X", Types: []string{"inetnum"}}},
		{line: "--resource x", want: Query{Key: "X", Types: resourceTypes}},
		{line: "--resource -T organisation,inetnum x", want: Query{Key: "X", Types: []string{"inetnum"}}},
		{line: "-T organisation --resource x", want: Query{Key: "X", Types: []string{}}},
		{line: "-i org org-x", want: Query{Key: "ORG-X", Inverse: []string{"org"}}},
		{line: "-i org,mnt-by,abuse-c X", want: Query{Key: "X", Inverse: []string{"org", "mnt-by", "abuse-c"}}},
		{line: "-s IPLEDGER,ipledger -a x", want: Query{Key: "X"}},
		{line: "-b -K -G x", code: errCombination},
		{line: "-b -G x", want: Query{Key: "X", Brief: true, NoGrouping: true}},
		{line: "-K x", want: Query{Key: "X", KeysOnly: true}},
		{line: "-k", want: Query{Persistent: true}},
		{line: "-k -a", want: Query{Persistent: true}},
		{line: "--persistent-connection", want: Query{Persistent: true}},
		{line: "-k 193.0.0.1", want: Query{Key: "193.0.0.1", Persistent: true}},
		{line: "-V Md5.5.17 x", want: Query{Key: "X"}},
		{line: "-d -R x", want: Query{Key: "X"}},
		{line: "-q version ", want: Query{Info: "version"}},
		{line: "-q Types", want: Query{Info: "types"}},
		{line: "--types", want: Query{Info: "types"}},
		{line: "--list-sources", want: Query{Info: "sources"}},
		{line: "help", want: Query{Help: true}},
		{line: "HELP", want: Query{Help: true}},
		{line: "-r help", want: Query{Key: "HELP", NoRecurse: true}},
		{line: "193.0.0.0 - 193.0.0.255", want: Query{Key: "193.0.0.0 - 193.0.0.255"}},
		{line: "-- -r", want: Query{Key: "-R"}},
		{line: "-x -l x", want: Query{Key: "X", Level: LevelOneLess, Warnings: []string{"%WARNING:901: duplicate IP flags passed\n%\n% More than one IP flag was given; -l is used."}}},
		{line: "-x -x -r -r x", want: Query{Key: "X", Level: LevelExact, NoRecurse: true}}, // flags without an argument may repeat
		{line: "", code: errNoKey},
		{line: "   ", code: errNoKey},
		{line: "-r -B", code: errNoKey},
		{line: "-k -r", code: errNoKey},
		{line: "-T", code: errOption},
		{line: "-i", code: errOption},
		{line: "-Z x", code: errOption},
		{line: "-rZ x", code: errOption},
		{line: "--bogus x", code: errOption},
		{line: "--exact=1 x", code: errOption},
		{line: "--select-types", code: errOption},
		{line: "-q nonsense", code: errOption},
		{line: "-q version x", code: errCombination},
		{line: "-q version -T inetnum", code: errCombination},
		{line: "-q version -q types", code: errMultipleFlag},
		{line: "-T inetnum -T role x", code: errMultipleFlag},
		{line: "-T person x", code: errType},
		{line: "-T inetnum,bogus x", code: errType},
		{line: "-i descr x", code: errNotInverse},
		{line: "-i nosuch x", code: errAttribute},
		{line: "-i org -m x", code: errCombination},
		{line: "-i org -b x", code: errCombination},
		{line: "-s RIPE x", code: errSource},
		{line: "-s IPLEDGER,RIPE x", code: errSource},
		{line: "193.0.0.1\x00", code: errBadChar},
		{line: "fe80::1%eth0", code: errBadChar},
		{line: "ORG-X;rm", code: errBadChar},
		{line: "Ünïcode", code: errBadChar},
		{line: strings.Repeat("a", MaxQueryBytes), want: Query{Key: strings.Repeat("A", MaxQueryBytes)}},
		{line: strings.Repeat("a", MaxQueryBytes+1), code: errTooLong},
	} {
		name := c.line
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			q, err := ParseQuery(c.line)
			if c.code != 0 {
				var qe *QueryError
				if !errors.As(err, &qe) || qe.Code != c.code {
					t.Fatalf("got %+v, %v; want error %d", q, err, c.code)
				}
				if !strings.HasPrefix(qe.Error(), "%ERROR:") || qe.Text == "" {
					t.Errorf("error text %q", qe.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(*q, c.want) {
				t.Errorf("got  %+v\nwant %+v", *q, c.want)
			}
		})
	}
}

func TestBare(t *testing.T) {
	for line, want := range map[string]bool{"-k": true, "-k -a": true, "-k 193.0.0.1": false, "-k -r x": false, "-q version": false} {
		q, err := ParseQuery(line)
		if err != nil {
			t.Fatal(err)
		}
		if q.Bare() != want {
			t.Errorf("%q: Bare() = %v", line, !want)
		}
	}
}
