// The test oracle of tests/identity.rs: what Go's crypto/x509 makes of
// each client certificate named on the command line (PEM files), one
// JSON object per line: the fields Portcullis' certificate view has, or
// the error Go refuses the certificate with. Built by the test itself.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
)

type view struct {
	Error               string   `json:"error,omitempty"`
	CommonName          string   `json:"common_name"`
	Organizations       []string `json:"organizations"`
	OrganizationalUnits []string `json:"organizational_units"`
	DNSNames            []string `json:"dns_names"`
	Emails              []string `json:"emails"`
	URIs                []string `json:"uris"`
	IPAddresses         []string `json:"ip_addresses"`
	IssuerCommonName    string   `json:"issuer_common_name"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func main() {
	out := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		v := view{
			Organizations:       []string{},
			OrganizationalUnits: []string{},
			DNSNames:            []string{},
			Emails:              []string{},
			URIs:                []string{},
			IPAddresses:         []string{},
		}
		data, err := os.ReadFile(path)
		if err != nil {
			v.Error = err.Error()
		} else if block, _ := pem.Decode(data); block == nil {
			v.Error = "no PEM block"
		} else if cert, err := x509.ParseCertificate(block.Bytes); err != nil {
			v.Error = err.Error()
		} else {
			v.CommonName = cert.Subject.CommonName
			v.Organizations = nonNil(cert.Subject.Organization)
			v.OrganizationalUnits = nonNil(cert.Subject.OrganizationalUnit)
			v.DNSNames = nonNil(cert.DNSNames)
			v.Emails = nonNil(cert.EmailAddresses)
			v.URIs = []string{}
			for _, uri := range cert.URIs {
				v.URIs = append(v.URIs, uri.String())
			}
			v.IPAddresses = []string{}
			for _, ip := range cert.IPAddresses {
				v.IPAddresses = append(v.IPAddresses, ip.String())
			}
			v.IssuerCommonName = cert.Issuer.CommonName
		}
		if err := out.Encode(v); err != nil {
			os.Exit(1)
		}
	}
}
