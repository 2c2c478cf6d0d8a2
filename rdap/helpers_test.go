package rdap

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// call makes one request to h and returns the response recorder and its decoded JSON body
// (nil when there is none).
func call(t testing.TB, h http.Handler, method, target, remote string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.Len() == 0 {
		return rec, nil
	}
	var body map[string]any
	d := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	d.UseNumber()
	if err := d.Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, target, err, rec.Body.String())
	}
	return rec, body
}

// at walks a decoded JSON value by object keys and array indices; nil when a step is
// missing.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// str is at(...) as a string ("" when missing or not a string).
func str(v any, path ...any) string {
	s, _ := at(v, path...).(string)
	if n, ok := at(v, path...).(json.Number); ok {
		return n.String()
	}
	return s
}

// list is at(...) as an array.
func list(v any, path ...any) []any {
	a, _ := at(v, path...).([]any)
	return a
}

// strs collects member key of each element of the array at path.
func strs(v any, key string, path ...any) []string {
	var out []string
	for _, e := range list(v, path...) {
		out = append(out, str(e, key))
	}
	return out
}

// linkTo returns the href of the first link with rel among an object's links.
func linkTo(obj any, rel string) string {
	for _, l := range list(obj, "links") {
		if str(l, "rel") == rel {
			return str(l, "href")
		}
	}
	return ""
}

func join(s []string) string { return strings.Join(s, " ") }
