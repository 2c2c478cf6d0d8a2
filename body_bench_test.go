package ipledger

import "testing"

// BenchmarkDecodeBody measures DecodeBody on the body of a one-item assignment, the
// commonest transaction of BenchmarkApply.
func BenchmarkDecodeBody(b *testing.B) {
	body := []byte(`{"items":[{"resource":"193.0.16.0/28","org":"ORG-B1","status":"ASSIGNED PA"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		var v AssignBody
		if err := DecodeBody(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}
