package wallet

import (
	"encoding/json"
	"fmt"

	"github.com/ipledger/ipledger"
)

// RegistrationRequest is what a newcomer hands a registry to be registered: the
// organisation as the registry's register-org transaction would carry it, with the
// newcomer's key, and the newcomer's signature proving it holds that key.
//
// The signature is the key's over the register-org payload of chain ChainID with
// sequence 0 and no expiry, signed as the organisation's handle: the same signing bytes
// as a transaction (one verifier for everything), and never a valid transaction, since
// no first signer has sequence 0.
type RegistrationRequest struct {
	ChainID   string              `json:"chain_id"`
	Org       ipledger.NewOrg     `json:"org"`
	Signature *ipledger.Signature `json:"signature,omitempty"`
}

// MaxRequest bounds a registration request's JSON.
const MaxRequest = 16 << 10

// signedJSON is the wire form of the signature: the org, key and signature bytes.
type signedJSON struct {
	Org string             `json:"org"`
	Key ipledger.PublicKey `json:"key"`
	Sig []byte             `json:"sig"`
}

func (r RegistrationRequest) payload() ([]byte, error) {
	body, err := json.Marshal(ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{r.Org}})
	if err != nil {
		return nil, err
	}
	return ipledger.EncodePayload(ipledger.Payload{ChainID: r.ChainID, Kind: ipledger.KindRegisterOrg, Body: body}), nil
}

// SignRequest fills r's key with k's public half, signs it and returns its JSON.
func SignRequest(r RegistrationRequest, k ipledger.PrivateKey) ([]byte, error) {
	if !ipledger.ValidHandle(r.Org.Handle) {
		return nil, fmt.Errorf("handle %q: want upper-case letters, digits and inner hyphens", r.Org.Handle)
	}
	if r.Org.Name == "" {
		return nil, fmt.Errorf("the organisation needs a name")
	}
	if !ipledger.ValidCountry(r.Org.Country) {
		return nil, fmt.Errorf("country %q: want an ISO 3166 code such as NG", r.Org.Country)
	}
	if err := ipledger.CheckText(r.Org); err != nil {
		return nil, err
	}
	r.Org.Keys = []ipledger.PublicKey{k.Public()}
	r.Org.OpaqueID = ""
	p, err := r.payload()
	if err != nil {
		return nil, err
	}
	sg := k.Sign(r.Org.Handle, p)
	b, err := json.Marshal(struct {
		ChainID   string          `json:"chain_id"`
		Org       ipledger.NewOrg `json:"org"`
		Signature signedJSON      `json:"signature"`
	}{r.ChainID, r.Org, signedJSON{sg.Org, sg.Key, sg.Sig[:]}})
	return b, err
}

// VerifyRequest decodes a registration request and checks its signature with the
// ledger's verifier: the key it names signed it, as the organisation it names, for one
// key of the request's. A registry then registers the organisation with that key.
func VerifyRequest(b []byte) (*RegistrationRequest, error) {
	if len(b) > MaxRequest {
		return nil, fmt.Errorf("registration request: %d bytes, at most %d", len(b), MaxRequest)
	}
	var w struct {
		ChainID   string          `json:"chain_id"`
		Org       ipledger.NewOrg `json:"org"`
		Signature signedJSON      `json:"signature"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("registration request: %w", err)
	}
	r := &RegistrationRequest{ChainID: w.ChainID, Org: w.Org}
	if !ipledger.ValidHandle(r.Org.Handle) || len(r.Org.Keys) != 1 || w.Signature.Org != r.Org.Handle ||
		w.Signature.Key != r.Org.Keys[0] || len(w.Signature.Sig) != 64 {
		return nil, fmt.Errorf("registration request: want one key, signed by it as the handle")
	}
	p, err := r.payload()
	if err != nil {
		return nil, err
	}
	sg := ipledger.Signature{Org: w.Signature.Org, Key: w.Signature.Key}
	copy(sg.Sig[:], w.Signature.Sig)
	tx, err := ipledger.DecodeTx(ipledger.EncodeTx(p, []ipledger.Signature{sg}))
	if err != nil {
		return nil, fmt.Errorf("registration request: %w", err)
	}
	if err := tx.VerifySignatures(); err != nil {
		return nil, fmt.Errorf("registration request: %w", err)
	}
	r.Signature = &sg
	return r, nil
}
