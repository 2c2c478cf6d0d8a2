package witness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client sends add-checkpoint requests to one witness. The zero Client is not usable; set
// URL.
type Client struct {
	// URL is the witness's submission prefix: requests go to URL + "/add-checkpoint".
	URL  string
	HTTP *http.Client // nil means http.DefaultClient
}

// StatusError is an answer other than 200 and 409.
type StatusError struct {
	Status int
	Body   string // the first bytes of the body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("witness answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

// AddCheckpoint submits r and returns the witness's signature lines (unverified: see
// VerifyCosignatures). A 409 answer comes back as a *ConflictError holding the witness's
// size; other failures as a *StatusError or a transport error.
func (c *Client) AddCheckpoint(ctx context.Context, r AddCheckpointRequest) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/add-checkpoint", bytes.NewReader(r.Marshal()))
	if err != nil {
		return nil, fmt.Errorf("add-checkpoint: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("add-checkpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("add-checkpoint: read answer: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusConflict:
		size, err := ParseSizeBody(body)
		if err != nil {
			return nil, fmt.Errorf("add-checkpoint: 409 answer: %w", err)
		}
		// The witness says the same for an old size it does not hold and for a root it
		// did not cosign at that size; the second shows as its size being the one sent.
		return nil, &ConflictError{Size: size, Fork: size == r.OldSize}
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return nil, &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}
