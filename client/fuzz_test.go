package client

import (
	"errors"
	"testing"

	"github.com/ipledger/ipledger"
)

// FuzzAPIError: any error answer becomes an *ipledger.Error with a known code, the body's
// own code when it is an error body naming one, and a message of bounded length otherwise.
func FuzzAPIError(f *testing.F) {
	f.Add(503, []byte(`{"code":"busy","message":"too many"}`))
	f.Add(404, []byte(`{"code":"not_found","message":"no such holding"}`))
	f.Add(503, []byte(`{"halted":true,"halt_reason":"consensus failure"}`))
	f.Add(502, []byte("<html>bad gateway</html>"))
	f.Add(429, []byte(`{"code":"nonsense"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := apiError(status, body)
		var e *ipledger.Error
		if !errors.As(err, &e) {
			t.Fatalf("%d %q: %T %v", status, body, err, err)
		}
		if _, ok := ipledger.ParseCode(e.Code.String()); !ok {
			t.Fatalf("%d %q: unknown code %d", status, body, e.Code)
		}
		_ = ErrorMessage(body)
	})
}
