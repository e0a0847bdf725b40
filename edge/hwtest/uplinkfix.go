package hwtest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/dozor-edge/dozor/sync/uplink"
)

// uplinkFix turns the uplink's connect error into an instruction: the
// refusals by their sentinel errors, the rest (files, dialling, TLS) by
// what the error says.
func uplinkFix(err error, broker string) string {
	switch {
	case errors.Is(err, uplink.ErrClientCertRequired):
		return "the broker requires a client certificate: set uplink.cert_file and uplink.key_file to the certificate the region issued for this box"
	case errors.Is(err, uplink.ErrBadCredentials), errors.Is(err, uplink.ErrNotAuthorised):
		return "the broker refused this box's user or password: check uplink.username and the password in uplink.password_file with the region (and that the broker's ACL knows this site)"
	case errors.Is(err, uplink.ErrClientIDRejected):
		return "the broker refused the client ID: leave uplink.client_id empty (dozor-<region>-<site>) or use the ID the region registered"
	}
	var verr *tls.CertificateVerificationError
	m := strings.ToLower(err.Error())
	switch {
	case strings.Contains(m, "password_file") && (strings.Contains(m, "no such file") || strings.Contains(m, "permission") || strings.Contains(m, "empty")):
		return "the password file named by uplink.password_file is missing, unreadable or empty: create it (one line, mode 0600)"
	case strings.Contains(m, "ca_file") || strings.Contains(m, "cert_file"):
		return "a TLS file named in the uplink section is missing or not PEM: copy the region's CA (uplink.ca_file) and this box's certificate and key"
	case errors.As(err, &verr) || strings.Contains(m, "x509") || strings.Contains(m, "certificate"):
		return "the broker's certificate is not trusted: set uplink.ca_file to the region's CA, and check the box's clock (certificates are checked against it)"
	case strings.Contains(m, "tls"):
		return "the TLS handshake with the broker failed: check that the port speaks TLS (8883) and that uplink.ca_file is the region's CA"
	case strings.Contains(m, "refused"):
		return fmt.Sprintf("nothing listens at %s: check the broker's host and port (1883 plain, 8883 TLS) and that the broker runs", broker)
	case strings.Contains(m, "no such host") || strings.Contains(m, "lookup"):
		return "the broker's name does not resolve: check uplink.broker and the box's DNS settings"
	case strings.Contains(m, "timeout") || strings.Contains(m, "deadline") || strings.Contains(m, "unreachable"):
		return fmt.Sprintf("no answer from %s: a firewall or the VPN to the region blocks the port; check the route from this box", broker)
	}
	return fmt.Sprintf("the box cannot reach the region's broker at %s: check uplink.broker and the network", broker)
}

// isLoopbackBroker reports a broker on this machine, where plain MQTT
// without credentials is acceptable (a local relay or the demo).
func isLoopbackBroker(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}
