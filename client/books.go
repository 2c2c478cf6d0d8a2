package client

import (
	"context"
	"net/url"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// Books lists the class auctions' classes with open orders (GET /v1/market/books).
func (c *Client) Books(ctx context.Context) (*apitypes.BookList, error) {
	return get[apitypes.BookList](ctx, c, "/v1/market/books", nil)
}

// Book returns one class's book by price (GET /v1/market/books/{class}).
func (c *Client) Book(ctx context.Context, class ipledger.AuctionClass) (*apitypes.BookPage, error) {
	return get[apitypes.BookPage](ctx, c, "/v1/market/books/"+url.PathEscape(class.String()), nil)
}
