// Package client is the Go client of the node's JSON API (package httpapi serves it): one
// HTTP client for the CLI, the audit, the load generator and the tests, with the API's
// wire types from package apitypes. It bounds every request in time and every answer in
// size, asks again after a busy or rate-limited answer to a GET, and turns the API's
// error bodies into *ipledger.Error with the server's code. It links no server, chain,
// store or CometBFT code: state proofs come back as their JSON, for package stateproof.
package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// MaxResponse bounds the body the client reads: an answer longer is an error, never cut
// short silently. The largest the API sends is an entry bundle of the log (at most 256
// entries of 64 KiB) or a page of a thousand children.
const MaxResponse = 64 << 20

// DefaultTimeout bounds each attempt of a request (sending it and reading the answer) of a
// Client whose HTTP is nil.
const DefaultTimeout = 2 * time.Minute

// defaultHTTP is the http.Client of a Client whose HTTP is nil.
var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// Client calls a node's JSON API. Base is the node's HTTP base URL, e.g.
// "http://127.0.0.1:8080"; HTTP nil means an http.Client with DefaultTimeout. Errors the
// API answers come back as *ipledger.Error with the server's code (test with
// ipledger.ErrorCode); transport failures come back wrapped as they are. A Client is safe
// for concurrent use.
type Client struct {
	Base string
	HTTP *http.Client
}

// Status returns GET /v1/status.
func (c *Client) Status(ctx context.Context) (ipledger.NodeStatus, error) {
	var st ipledger.NodeStatus
	err := c.Get(ctx, "/v1/status", nil, &st)
	return st, err
}

// Submit posts an encoded transaction. Without wait it returns once CheckTx admitted it;
// with wait it returns once the transaction is committed, with its Outcome (whose Code may
// be a rejection: the transaction is committed but changed nothing). If the node's wait
// runs out first, the result has the hash only (Committed reports false): ask Tx later.
// A CheckTx rejection is an *ipledger.Error with its code.
func (c *Client) Submit(ctx context.Context, tx []byte, wait bool) (apitypes.SubmitResult, error) {
	var q url.Values
	if wait {
		q = url.Values{"wait": {"commit"}}
	}
	var res apitypes.SubmitResult
	err := c.do(ctx, http.MethodPost, "/v1/tx", q, "application/octet-stream", tx, &res)
	return res, err
}

// Tx returns GET /v1/tx/{hash}; a transaction not committed is CodeNotFound.
func (c *Client) Tx(ctx context.Context, hash string) (*apitypes.TxInfo, error) {
	return get[apitypes.TxInfo](ctx, c, "/v1/tx/"+hash, nil)
}

// Org returns GET /v1/orgs/{handle}.
func (c *Client) Org(ctx context.Context, handle string) (*apitypes.OrgInfo, error) {
	return c.OrgPage(ctx, handle, "")
}

// OrgPage returns GET /v1/orgs/{handle} with its history from just after historyAfter
// (the HistoryNext of the previous answer; "" from the start).
func (c *Client) OrgPage(ctx context.Context, handle, historyAfter string) (*apitypes.OrgInfo, error) {
	return get[apitypes.OrgInfo](ctx, c, "/v1/orgs/"+handle, Page{HistoryAfter: historyAfter}.query())
}

// Orgs returns GET /v1/orgs: handles with prefix after the handle after ("" from the
// start), at most limit (0 means the server's default, 100).
func (c *Client) Orgs(ctx context.Context, prefix, after string, limit int) (*apitypes.OrgList, error) {
	lim := ""
	if limit > 0 {
		lim = strconv.Itoa(limit)
	}
	return get[apitypes.OrgList](ctx, c, "/v1/orgs", query("prefix", prefix, "after", after, "limit", lim))
}

// Resource returns GET /v1/resources/{res}: res is anything ipledger.ParseResource reads
// ("193.0.0.1", "193.0.0.0/16", "AS3333", "2001:db8::/32"). Its lists are the first
// pages; ResourcePage asks for later ones.
func (c *Client) Resource(ctx context.Context, res string) (*apitypes.ResourceInfo, error) {
	return c.ResourcePage(ctx, res, Page{})
}

// Page says where the lists of a resource, holding or organisation answer resume: the
// ChildrenNext and HistoryNext of the previous answer ("" from the start).
type Page struct {
	ChildrenAfter string
	HistoryAfter  string
}

func (p Page) query() url.Values {
	return query("children_after", p.ChildrenAfter, "history_after", p.HistoryAfter)
}

// query is the URL query of the pairs of key and value whose value is not "".
func query(pairs ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	return q
}

// ResourcePage returns GET /v1/resources/{res} with its children and history from p.
func (c *Client) ResourcePage(ctx context.Context, res string, p Page) (*apitypes.ResourceInfo, error) {
	return get[apitypes.ResourceInfo](ctx, c, "/v1/resources/"+res, p.query())
}

// Holding returns GET /v1/holdings/{id}: id is a number or a handle like "IPL-H42".
func (c *Client) Holding(ctx context.Context, id string) (*apitypes.ResourceInfo, error) {
	return c.HoldingPage(ctx, id, Page{})
}

// HoldingPage returns GET /v1/holdings/{id} with its children and history from p.
func (c *Client) HoldingPage(ctx context.Context, id string, p Page) (*apitypes.ResourceInfo, error) {
	return get[apitypes.ResourceInfo](ctx, c, "/v1/holdings/"+id, p.query())
}

// Block returns GET /v1/blocks/{height}; height 0 means the latest block.
func (c *Client) Block(ctx context.Context, height int64) (*ipledger.BlockRecord, error) {
	p := "/v1/blocks/latest"
	if height != 0 {
		p = "/v1/blocks/" + strconv.FormatInt(height, 10)
	}
	return get[ipledger.BlockRecord](ctx, c, p, nil)
}

// Get GETs path with the query q (nil for none) and decodes the JSON answer into out: for
// a query the methods above do not spell. An error answer is an *ipledger.Error with the
// server's code.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, "", nil, out)
}

// get GETs path with the query q and returns the decoded answer.
func get[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, error) {
	var out T
	if err := c.Get(ctx, path, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// do sends one request and decodes a 2xx answer into out; any other answer is an error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, ctype string, body []byte, out any) error {
	b, status, err := c.roundTrip(ctx, method, path, q, ctype, body, MaxResponse)
	if err != nil {
		return err
	}
	return decodeAnswer(method, path, status, b, out)
}

// decodeAnswer decodes b, the body of a 2xx answer to method path, into out; an answer of
// any other status is the API's error (apiError).
func decodeAnswer(method, path string, status int, b []byte, out any) error {
	if status < 200 || status > 299 {
		return apiError(status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// Fetch GETs path (with the query q, if any) and returns the answer's body and HTTP status
// whatever the status: for the transparency log's files (the key, checkpoints, tiles and
// entry bundles), which are not JSON and whose absence the caller tells apart. Only
// transport failures and an answer longer than limit bytes (0: MaxResponse) are errors.
// ErrorMessage reads the message of an error body.
func (c *Client) Fetch(ctx context.Context, path string, q url.Values, limit int64) ([]byte, int, error) {
	if limit <= 0 || limit > MaxResponse {
		limit = MaxResponse
	}
	return c.roundTrip(ctx, http.MethodGet, path, q, "", nil, limit)
}

// roundTrip sends one request and reads the answer. path is unescaped; whatever it holds
// (a resource's "/" and ":", a stray "%" or "?") reaches the server as path.
func (c *Client) roundTrip(ctx context.Context, method, path string, q url.Values, ctype string, body []byte, limit int64) ([]byte, int, error) {
	u := strings.TrimSuffix(c.Base, "/") + (&url.URL{Path: path}).EscapedPath()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	// A read refused as busy (the node bounds its expensive queries at once, not who may
	// ask) or over this client's rate limit is asked again after the Retry-After the node
	// gave, a few times.
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		b, err := readBody(resp.Body, limit)
		resp.Body.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("%s %s: read response: %w", method, path, err)
		}
		status := resp.StatusCode
		if method != http.MethodGet || attempt == readRetries || !retryable(status, b) {
			return b, status, nil
		}
		wait := time.Second
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n >= 0 && n <= 10 {
			wait = time.Duration(n) * time.Second
		}
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// errTooLarge is an answer longer than the limit.
var errTooLarge = errors.New("answer too long")

// readBody reads an answer of at most limit bytes.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// ErrorMessage returns the code and message of an API error body ("not_found: no such
// tile"), or the start of a body that is not one (a proxy's page, say).
func ErrorMessage(body []byte) string {
	var eb apitypes.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Message != "" {
		return eb.Code + ": " + eb.Message
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return string(bytes.TrimSpace(body))
}

// readRetries is how many times a GET refused as busy or rate-limited is asked again.
const readRetries = 3

// retryable reports whether an error answer is the query gate's 503 busy or a 429 over
// the client's rate limit: both go away by waiting.
func retryable(status int, body []byte) bool {
	if status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests {
		return false // not decoding every answer, which may be megabytes
	}
	var eb apitypes.ErrorBody
	if json.Unmarshal(body, &eb) != nil {
		return false
	}
	return status == http.StatusServiceUnavailable && eb.Code == ipledger.CodeBusy.String() ||
		status == http.StatusTooManyRequests && eb.Code == ipledger.CodeRateLimited.String()
}

// apiError turns an error response into an *ipledger.Error: the body's code when it is an
// apitypes.ErrorBody, else a code fitting the HTTP status (a proxy's page, say).
func apiError(status int, body []byte) error {
	var eb apitypes.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Code != "" {
		if code, ok := ipledger.ParseCode(eb.Code); ok {
			return &ipledger.Error{Code: code, Message: eb.Message}
		}
	}
	// A halted node answers /v1/status with 503 and its status, which says why.
	var st struct {
		Halted     bool   `json:"halted"`
		HaltReason string `json:"halt_reason"`
	}
	if json.Unmarshal(body, &st) == nil && st.Halted {
		return &ipledger.Error{Code: ipledger.CodeUnavailable, Message: "node halted: " + st.HaltReason}
	}
	code := ipledger.CodeInvalid
	switch {
	case status == http.StatusNotFound:
		code = ipledger.CodeNotFound
	case status == http.StatusRequestEntityTooLarge:
		code = ipledger.CodeTooLarge
	case status == http.StatusTooManyRequests:
		code = ipledger.CodeMempoolFull
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		code = ipledger.CodeUnauthorized
	case status >= 500:
		code = ipledger.CodeInternal
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &ipledger.Error{Code: code, Message: fmt.Sprintf("HTTP %d %s: %s", status, http.StatusText(status), msg)}
}

// Balance returns an organisation's settlement credits.
func (c *Client) Balance(ctx context.Context, org string) (*apitypes.BalanceInfo, error) {
	return get[apitypes.BalanceInfo](ctx, c, "/v1/balances/"+url.PathEscape(org), nil)
}

// Lease returns a lease and its history.
func (c *Client) Lease(ctx context.Context, id string) (*apitypes.LeaseInfo, error) {
	return get[apitypes.LeaseInfo](ctx, c, "/v1/leases/"+url.PathEscape(id), nil)
}

// Leases lists running leases (all, with ended ones, when all is set), of org if not "".
func (c *Client) Leases(ctx context.Context, org string, all bool) (*apitypes.LeaseList, error) {
	q := query("org", org)
	if all {
		q.Set("all", "true")
	}
	return get[apitypes.LeaseList](ctx, c, "/v1/leases", q)
}

// Offers lists open lease offers, of org if not "".
func (c *Client) Offers(ctx context.Context, org string) (*apitypes.LeaseList, error) {
	return get[apitypes.LeaseList](ctx, c, "/v1/offers", query("org", org))
}

// Routes lists route authorisations, of org if not "".
func (c *Client) Routes(ctx context.Context, org string) (*apitypes.RouteList, error) {
	return get[apitypes.RouteList](ctx, c, "/v1/routes", query("org", org))
}

// proofQuery is ?height= for a height, none for 0.
func proofQuery(height int64) url.Values {
	if height == 0 {
		return nil
	}
	return url.Values{"height": {strconv.FormatInt(height, 10)}}
}

// The proofs come back as their JSON: decode one with json.Unmarshal into a
// stateproof.Proof, which checks it. Height 0 asks for the latest provable height.

// ProveResource returns GET /v1/proof/resources/{res}: the proof of who holds res at
// height. Check it with stateproof's Proof.VerifyResource.
func (c *Client) ProveResource(ctx context.Context, res string, height int64) (json.RawMessage, error) {
	return c.prove(ctx, "/v1/proof/resources/"+res, height)
}

// ProveHolding returns GET /v1/proof/holdings/{id}: id is a number or a handle like
// "IPL-H42". Check it with Proof.VerifyHolding.
func (c *Client) ProveHolding(ctx context.Context, id string, height int64) (json.RawMessage, error) {
	return c.prove(ctx, "/v1/proof/holdings/"+id, height)
}

// ProveOrg returns GET /v1/proof/orgs/{handle}. Check it with Proof.VerifyOrg.
func (c *Client) ProveOrg(ctx context.Context, handle string, height int64) (json.RawMessage, error) {
	return c.prove(ctx, "/v1/proof/orgs/"+handle, height)
}

// ProveKey returns GET /v1/proof/state/{hex key}. Check it with Proof.VerifyKey.
func (c *Client) ProveKey(ctx context.Context, key []byte, height int64) (json.RawMessage, error) {
	return c.prove(ctx, "/v1/proof/state/"+hex.EncodeToString(key), height)
}

func (c *Client) prove(ctx context.Context, path string, height int64) (json.RawMessage, error) {
	var p json.RawMessage
	if err := c.Get(ctx, path, proofQuery(height), &p); err != nil {
		return nil, err
	}
	return p, nil
}

// ConsistencyProof returns GET /v1/log/proof/consistency: the proof that the log of size
// old is a prefix of the log of size new (check it with tlog.VerifyConsistency).
func (c *Client) ConsistencyProof(ctx context.Context, old, new uint64) (*apitypes.ConsistencyInfo, error) {
	q := url.Values{"old": {strconv.FormatUint(old, 10)}, "new": {strconv.FormatUint(new, 10)}}
	return get[apitypes.ConsistencyInfo](ctx, c, "/v1/log/proof/consistency", q)
}
