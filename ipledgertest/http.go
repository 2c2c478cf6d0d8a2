package ipledgertest

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Fetch returns the status and body of GET url; status 0, with the error as the body,
// when there was no answer.
func Fetch(url string) (int, []byte) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode, b
}

// Get returns the body of GET url, failing tb on any error or a status other than 200.
func Get(tb testing.TB, url string) []byte {
	tb.Helper()
	code, b := Fetch(url)
	if code != http.StatusOK {
		tb.Fatalf("GET %s: %d\n%s", url, code, b)
	}
	return b
}

// GetJSON decodes the JSON body of GET url into v, failing tb on any error or a status
// other than 200.
func GetJSON(tb testing.TB, url string, v any) {
	tb.Helper()
	if err := json.Unmarshal(Get(tb, url), v); err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
}
