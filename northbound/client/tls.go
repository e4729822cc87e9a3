package client

import (
	"fmt"
	"net/http"

	"github.com/l2lisp/l2lisp/pki"
)

// HTTPClient returns an http.Client for New that trusts only the CA
// certificate in caFile (PEM): the controller's certificate must chain to
// it, as one made by l2lisp pki does.
func HTTPClient(caFile string) (*http.Client, error) {
	cfg, err := pki.ClientTrusting(caFile)
	if err != nil {
		return nil, fmt.Errorf("controller CA: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}
