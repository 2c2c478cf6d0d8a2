package web

import (
	"net/http"

	"github.com/ipledger/ipledger"
)

type indexCache struct{}

func (h *handler) search(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	return nil, notFound("todo")
}
func (h *handler) org(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	return nil, notFound("todo")
}
func (h *handler) leases(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	return nil, notFound("todo")
}
func (h *handler) lease(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	return nil, notFound("todo")
}
func (h *handler) tx(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	return nil, notFound("todo")
}
func (h *handler) logPage(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	return nil, notFound("todo")
}
