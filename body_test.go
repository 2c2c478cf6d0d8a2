package ipledger

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	type inner struct {
		City string            `json:"city"`
		Tags map[string]string `json:"tags"`
		Ptr  *string           `json:"ptr"`
		Any  any               `json:"any"`
	}
	type outer struct {
		Name   string  `json:"name"`
		Status Status  `json:"status"`
		Items  []inner `json:"items"`
		hidden string
		Count  int
		Key    PublicKey
	}
	bad := "a\u202eb"
	cases := []struct {
		v    any
		path string // "" when accepted
	}{
		{nil, ""},
		{&outer{Name: "Société Générale ✓", Items: []inner{{City: "Zürich", Tags: map[string]string{"k": "v"}}}, hidden: "\x00"}, ""},
		{&outer{Name: "a\r\nb"}, "name"},
		{&outer{Status: Status("ASSIGNED PA\x1b")}, "status"},
		{&outer{Items: []inner{{}, {City: bad}}}, "items.1.city"},
		{&outer{Items: []inner{{Tags: map[string]string{"ok": "\ufeff"}}}}, "items.0.tags.ok"},
		{&outer{Items: []inner{{Tags: map[string]string{"\x85": "ok"}}}}, "items.0.tags.(key)"},
		{&outer{Items: []inner{{Ptr: &bad}}}, "items.0.ptr"},
		{&outer{Items: []inner{{Any: []any{"ok", "\x7f"}}}}, "items.0.any.1"},
		{&outer{Name: "a\xffb"}, "name"},
		{"\u200e", "text"},
	}
	for _, c := range cases {
		err := CheckText(c.v)
		if c.path == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.v, err)
			}
			continue
		}
		if ErrorCode(err) != CodeBadText || !strings.HasPrefix(ErrorMessage(err), c.path+" holds ") {
			t.Errorf("%+v: %v, want bad_text at %s", c.v, err, c.path)
		}
	}
	if CodeBadText != 23 || CodeBadText.String() != "bad_text" || CodeBadText.HTTPStatus() != 400 {
		t.Fatal("bad_text is code 23, HTTP 400")
	}
}
