package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"
)

// ServiceUser is the NATS user regiond itself connects as.
const ServiceUser = "regiond"

// readyTimeout bounds how long Start waits for the listeners (and, on a
// restart, for JetStream to recover its streams from disk).
const readyTimeout = 30 * time.Second

// Config is one NATS node of a region.
type Config struct {
	// Dir holds JetStream's storage; it survives restarts.
	Dir    string
	Region string
	// ServerName names this node. It must be unique in a cluster and stay
	// the same across restarts of a node; empty means "regiond-<region>",
	// which suits one node only.
	ServerName string
	// MQTTListen is host:port of the MQTT listener for the sites
	// ("127.0.0.1:0" picks a free port).
	MQTTListen string
	// NATSListen is host:port for NATS clients: regiond and its replicas.
	NATSListen string
	// TLS, when set, is required on the MQTT listener and on the NATS
	// client listener. It is the server side: certificates, and ClientCAs
	// with ClientAuth when sites present client certificates.
	TLS   *tls.Config
	Sites []SiteAccount
	// ServicePassword is the NATS password of ServiceUser; empty means a
	// random one for this run (see Broker.ServiceCredentials).
	ServicePassword string
	// Cluster joins this node to others by routes; nil for a single node.
	Cluster *ClusterConfig
	// Replicas is the replica count of the MQTT listener's own streams
	// (sessions, retained messages, QoS 1 deliveries): 1 on a single node,
	// up to 3 in a cluster; 0 lets the server choose (cluster size, at
	// most 3). The region's event stream takes its count from EnsureStream.
	Replicas int
	Logger   *slog.Logger
}

// SiteAccount is the MQTT login of one site: the username is the site ID.
type SiteAccount struct {
	Site string
	// PasswordHash is a bcrypt hash ($2a$, $2b$ or $2y$), which nats-server
	// compares the MQTT password against; the clear password is never kept.
	PasswordHash string
}

// ClusterConfig is the route listener and the other nodes of a cluster.
type ClusterConfig struct {
	Name   string   // the cluster's name, the same on every node
	Listen string   // host:port for routes from the other nodes
	Routes []string // the other nodes' route addresses: host:port or nats-route://host:port
	// Password, when set, is required from the other nodes' routes (user
	// "route"), and sent to them; every node needs the same one.
	Password string
}

// Validate checks the configuration, naming the field at fault.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("broker: dir: empty")
	}
	if err := wire.ValidateSegment(c.Region); err != nil {
		return fmt.Errorf("broker: region: %w", err)
	}
	if c.ServerName != "" && strings.ContainsAny(c.ServerName, " \t\r\n") {
		return fmt.Errorf("broker: server name %q: contains whitespace", c.ServerName)
	}
	if _, _, err := splitHostPort(c.MQTTListen); err != nil {
		return fmt.Errorf("broker: mqtt listen: %w", err)
	}
	if _, _, err := splitHostPort(c.NATSListen); err != nil {
		return fmt.Errorf("broker: nats listen: %w", err)
	}
	seen := map[string]bool{}
	for i, s := range c.Sites {
		if err := wire.ValidateSegment(s.Site); err != nil {
			return fmt.Errorf("broker: sites[%d]: site: %w", i, err)
		}
		if s.Site == ServiceUser {
			return fmt.Errorf("broker: sites[%d]: site %q is the service user's name", i, s.Site)
		}
		if seen[s.Site] {
			return fmt.Errorf("broker: sites[%d]: site %q listed twice", i, s.Site)
		}
		seen[s.Site] = true
		if _, err := bcrypt.Cost([]byte(s.PasswordHash)); err != nil || !strings.HasPrefix(s.PasswordHash, "$2") {
			return fmt.Errorf("broker: sites[%d] (%s): password hash: not a bcrypt hash", i, s.Site)
		}
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return fmt.Errorf("broker: replicas: %d, want 0 to 5", c.Replicas)
	}
	if cl := c.Cluster; cl != nil {
		if cl.Name == "" || strings.ContainsAny(cl.Name, " \t\r\n.*>") {
			return fmt.Errorf("broker: cluster: name %q: want a non-empty name without spaces, '.', '*' or '>'", cl.Name)
		}
		if c.ServerName == "" {
			return errors.New("broker: server name: required in a cluster, unique per node")
		}
		if _, _, err := splitHostPort(cl.Listen); err != nil {
			return fmt.Errorf("broker: cluster: listen: %w", err)
		}
		for i, r := range cl.Routes {
			if _, err := routeURL(r, ""); err != nil {
				return fmt.Errorf("broker: cluster: routes[%d]: %w", i, err)
			}
		}
	} else if c.Replicas > 1 {
		return fmt.Errorf("broker: replicas: %d on a single node (no cluster)", c.Replicas)
	}
	return nil
}

// Broker is a running NATS node with JetStream and the MQTT listener.
type Broker struct {
	srv        *server.Server
	opts       *server.Options
	tls        bool
	region     string
	svcPass    string
	mqttHost   string
	clientHost string
}

// Start starts the node and returns when its listeners accept
// connections and JetStream is enabled. In a cluster, JetStream may still
// be electing its leader: EnsureStream waits for it.
func Start(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "nats")

	svcPass := cfg.ServicePassword
	if svcPass == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("broker: service password: %w", err)
		}
		svcPass = hex.EncodeToString(b[:])
	}
	svcHash, err := bcrypt.GenerateFromPassword([]byte(svcPass), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("broker: service password: %w", err)
	}

	name := cfg.ServerName
	if name == "" {
		name = "regiond-" + cfg.Region
	}
	natsHost, natsPort, _ := splitHostPort(cfg.NATSListen)
	mqttHost, mqttPort, _ := splitHostPort(cfg.MQTTListen)
	opts := &server.Options{
		ServerName: name,
		Host:       natsHost,
		Port:       natsPort,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		Users: append([]*server.User{{
			Username: ServiceUser,
			Password: string(svcHash),
			// Full rights (nil permissions), over NATS only: a socket or
			// a connection inside the process (Connect).
			AllowedConnectionTypes: map[string]struct{}{"STANDARD": {}, "IN_PROCESS": {}},
		}}, siteUsers(cfg.Region, cfg.Sites)...),
		MQTT: server.MQTTOpts{
			Host:           mqttHost,
			Port:           mqttPort,
			StreamReplicas: cfg.Replicas,
		},
	}
	if cfg.TLS != nil {
		opts.TLSConfig = cfg.TLS
		opts.TLSTimeout = 5
		opts.MQTT.TLSConfig = cfg.TLS
		opts.MQTT.TLSTimeout = 5
	}
	if cl := cfg.Cluster; cl != nil {
		h, p, _ := splitHostPort(cl.Listen)
		opts.Cluster = server.ClusterOpts{Name: cl.Name, Host: h, Port: p}
		if cl.Password != "" {
			opts.Cluster.Username, opts.Cluster.Password = "route", cl.Password
		}
		for _, r := range cl.Routes {
			u, _ := routeURL(r, cl.Password)
			opts.Routes = append(opts.Routes, u)
		}
	}

	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	logger := &slogAdapter{log: log}
	srv.SetLoggerV2(logger, log.Enabled(context.Background(), slog.LevelDebug), false, false)
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		why := logger.lastFatal()
		if why == "" {
			why = fmt.Sprintf("not ready within %v", readyTimeout)
		}
		return nil, fmt.Errorf("broker: start: %s", why)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("broker: start: JetStream not enabled (storage %s): %s", cfg.Dir, logger.lastFatal())
	}
	return &Broker{
		srv: srv, opts: opts, tls: cfg.TLS != nil, region: cfg.Region, svcPass: svcPass,
		mqttHost: dialHost(mqttHost), clientHost: dialHost(natsHost),
	}, nil
}

// MQTTURL is the MQTT listener's address as paho takes it: tcp://host:port,
// or ssl://host:port with TLS.
func (b *Broker) MQTTURL() string {
	scheme := "tcp"
	if b.tls {
		scheme = "ssl"
	}
	// Start has returned after ReadyForConnections, so the server has
	// written the port it bound (for port 0) into the options.
	return scheme + "://" + net.JoinHostPort(b.mqttHost, strconv.Itoa(b.opts.MQTT.Port))
}

// ClientURL is the NATS client listener: nats://host:port, or
// tls://host:port with TLS.
func (b *Broker) ClientURL() string {
	scheme := "nats"
	if b.tls {
		scheme = "tls"
	}
	port := 0
	if a, ok := b.srv.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	return scheme + "://" + net.JoinHostPort(b.clientHost, strconv.Itoa(port))
}

// ClusterURL is the route listener, nats-route://host:port; empty without
// a cluster.
func (b *Broker) ClusterURL() string {
	a := b.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats-route://" + net.JoinHostPort(dialHost(b.opts.Cluster.Host), strconv.Itoa(a.Port))
}

// ServiceCredentials is the NATS user regiond connects as, with full rights.
func (b *Broker) ServiceCredentials() (user, password string) {
	return ServiceUser, b.svcPass
}

// Connect opens a NATS connection inside the process as the service user,
// without a socket (and so without TLS).
func (b *Broker) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{
		nats.Name(name),
		nats.InProcessServer(b.srv),
		nats.UserInfo(ServiceUser, b.svcPass),
	}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("broker: connect %s: %w", name, err)
	}
	return nc, nil
}

// Backlog is how many bytes this node holds for user's open connections
// and has not yet written to their sockets (the largest, if the user has
// several); ok is false when the user has no connection on this node. A
// connection whose backlog passes the server's limit (64 MiB) is cut as a
// slow consumer, so a large send to a site paces itself by this.
func (b *Broker) Backlog(user string) (pending int, ok bool) {
	cz, err := b.srv.Connz(&server.ConnzOptions{Username: true, User: user, State: server.ConnOpen, Limit: 16})
	if err != nil {
		return 0, false
	}
	for _, c := range cz.Conns {
		pending, ok = max(pending, c.Pending), true
	}
	return pending, ok
}

// Shutdown stops the node and waits until it has stopped; JetStream has
// flushed its files when it returns.
func (b *Broker) Shutdown() {
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
}

// siteUsers gives each site an MQTT-only user whose publish rights are
// its own site -> region subjects and its hardware-test pings, and whose
// subscribe rights are what the region sends it. MQTT's internal subjects
// need no grant: nats-server lets an MQTT client's session subscribe to
// $MQTT.sub.* and $MQTT.deliver.pubrel.* implicitly, and stores QoS 1/2
// messages, sessions and retained messages through its own internal
// client.
func siteUsers(region string, sites []SiteAccount) []*server.User {
	users := make([]*server.User, 0, len(sites))
	for _, s := range sites {
		pub := make([]string, 0, len(siteKinds)+1)
		for _, k := range siteKinds {
			pub = append(pub, siteSubject(region, s.Site, k))
		}
		pub = append(pub, siteSubject(region, s.Site, "hwtest"))
		users = append(users, &server.User{
			Username: s.Site,
			Password: s.PasswordHash,
			Permissions: &server.Permissions{
				Publish: &server.SubjectPermission{Allow: pub},
				Subscribe: &server.SubjectPermission{Allow: []string{
					siteSubject(region, s.Site, "gallery.revision"),
					siteSubject(region, s.Site, "resend"),
					siteSubject(region, s.Site, "hwtest"),
				}},
			},
			AllowedConnectionTypes: map[string]struct{}{"MQTT": {}},
		})
	}
	return users
}

// siteKinds are the subject suffixes of every site -> region kind.
var siteKinds = []string{"sighting", "alert", "alert.decision", "status", "camera.*.status", "audit", "gallery.ack", "gallery.enrol"}

// siteSubject is dozor.v1.<region>.<site>.<suffix> with the IDs in their
// subject form; site may be "*".
func siteSubject(region, site, suffix string) string {
	tok := func(id string) string { return strings.ReplaceAll(id, ".", "//") }
	return wire.Root + "." + wire.TreeVersion + "." + tok(region) + "." + tok(site) + "." + suffix
}

// ResendSubject is the subject of the site's resend topic,
// dozor/v1/<region>/<site>/resend, to which the site's MQTT session
// subscribes.
func ResendSubject(region, site string) string { return siteSubject(region, site, "resend") }

func splitHostPort(hp string) (string, int, error) {
	if hp == "" {
		return "", 0, errors.New("empty; want host:port")
	}
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", hp, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%q: port %q: want 0 to 65535", hp, p)
	}
	if n == 0 {
		n = server.RANDOM_PORT // nats-server reads 0 as "the default port"
	}
	return h, n, nil
}

// dialHost is the address a local client dials for a listener bound to h.
func dialHost(h string) string {
	if h == "" || h == "0.0.0.0" || h == "::" {
		return "127.0.0.1"
	}
	return h
}

func routeURL(r, password string) (*url.URL, error) {
	if !strings.Contains(r, "://") {
		r = "nats-route://" + r
	}
	u, err := url.Parse(r)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "nats-route" && u.Scheme != "nats" {
		return nil, fmt.Errorf("%q: scheme %q, want nats-route", r, u.Scheme)
	}
	if _, _, err := splitHostPort(u.Host); err != nil {
		return nil, err
	}
	if password != "" {
		u.User = url.UserPassword("route", password)
	}
	return u, nil
}
