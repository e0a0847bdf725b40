package hwtest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// uplinkFix turns the uplink's connect error into an instruction.
func uplinkFix(msg, broker string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "password_file") && (strings.Contains(m, "no such file") || strings.Contains(m, "permission") || strings.Contains(m, "empty")):
		return "the password file named by uplink.password_file is missing, unreadable or empty: create it (one line, mode 0600)"
	case strings.Contains(m, "client certificate"):
		return "the broker requires a client certificate: set uplink.cert_file and uplink.key_file to the certificate the region issued for this box"
	case strings.Contains(m, "ca_file") || strings.Contains(m, "cert_file"):
		return "a TLS file named in the uplink section is missing or not PEM: copy the region's CA (uplink.ca_file) and this box's certificate and key"
	case strings.Contains(m, "credentials") || strings.Contains(m, "not authorised"):
		return "the broker refused this box's user or password: check uplink.username and the password in uplink.password_file with the region"
	case strings.Contains(m, "certificate") || strings.Contains(m, "x509") || strings.Contains(m, "tls"):
		return "the broker's certificate is not trusted: set uplink.ca_file to the region's CA, and check the box's clock (certificates are checked against it)"
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
