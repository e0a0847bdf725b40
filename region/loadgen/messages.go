package loadgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

const (
	camerasPerSite = 8
	persons        = 5000
	// cropEvery: one sighting in four carries its face crop, as sightings
	// of known people often do without one.
	cropEvery = 4
)

// message is one publish: its topic, payload and the seq it carries (0
// for statuses).
type message struct {
	kind    wire.Kind
	topic   string
	seq     uint64
	payload []byte
	retain  bool
}

// siteGen makes one site's messages: its outbox seq, its audit chain, the
// alert a decision refers to. Deterministic for a seed, apart from IDs
// and times.
type siteGen struct {
	region, site string
	rng          *rand.Rand
	seq          uint64
	auditSeq     uint64
	auditHash    string
	track        uint64
	sightings    uint64
	lastSighting wire.ID
	lastAlert    *wire.Alert
}

func newSiteGen(region, site string, seed uint64) *siteGen {
	return &siteGen{
		region: region, site: site,
		rng:       rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		auditHash: strings.Repeat("0", 64),
	}
}

// next makes the site's next message, stamped with now.
func (g *siteGen) next(now time.Time) (message, error) {
	var p wire.Payload
	var topic string
	var err error
	r := g.rng.IntN(100)
	if r >= 88 && r < 90 && g.lastAlert == nil {
		r = 0 // no alert waits for a decision: a sighting instead
	}
	switch {
	case r < 84:
		p, err = g.sighting(now)
		topic, _ = wire.SightingTopic(g.region, g.site)
	case r < 88:
		p, err = g.alert(now)
		topic, _ = wire.AlertTopic(g.region, g.site)
	case r < 90:
		p = g.decision(now)
		topic, _ = wire.AlertDecisionTopic(g.region, g.site)
	case r < 94:
		p = g.audit(now)
		topic, _ = wire.AuditTopic(g.region, g.site)
	case r < 96:
		p = wire.SiteStatus{
			Site: g.site, State: wire.SiteOnline, Version: "1.4.0", At: now,
			CamerasUp: camerasPerSite - g.rng.IntN(2), CamerasTotal: camerasPerSite, OutboxDepth: g.rng.IntN(5),
		}
		topic, _ = wire.SiteStatusTopic(g.region, g.site)
	default:
		cam := g.camera()
		p = wire.CameraStatus{Site: g.site, Camera: cam, State: wire.CameraUp, FPS: 12.5, LastFrame: now.Add(-80 * time.Millisecond), At: now}
		topic, err = wire.CameraStatusTopic(g.region, g.site, cam)
	}
	if err != nil {
		return message{}, err
	}
	data, err := wire.Encode(p)
	if err != nil {
		return message{}, fmt.Errorf("site %s: %w", g.site, err)
	}
	k := p.TopicKind()
	return message{kind: k, topic: topic, seq: seqOf(p), payload: data, retain: k.Retained()}, nil
}

func seqOf(p wire.Payload) uint64 {
	switch p := p.(type) {
	case wire.Sighting:
		return p.Seq
	case wire.Alert:
		return p.Seq
	case wire.AlertDecision:
		return p.Seq
	case wire.AuditRecord:
		return p.Seq
	}
	return 0
}

func (g *siteGen) nextSeq() uint64 { g.seq++; return g.seq }

func (g *siteGen) camera() string { return fmt.Sprintf("cam%d", 1+g.rng.IntN(camerasPerSite)) }

func (g *siteGen) person() string { return fmt.Sprintf("P%05d", 1+g.rng.IntN(persons)) }

func (g *siteGen) sighting(now time.Time) (wire.Sighting, error) {
	id, err := wire.NewID()
	if err != nil {
		return wire.Sighting{}, err
	}
	g.track++
	g.sightings++
	span := time.Duration(500+g.rng.IntN(4000)) * time.Millisecond
	s := wire.Sighting{
		ID: id, Seq: g.nextSeq(), Site: g.site, Camera: g.camera(), Track: g.track,
		FirstSeen: now.Add(-span), BestAt: now.Add(-span / 2), LastSeen: now,
		Frames: 3 + g.rng.IntN(40), Score: 0.3 + 0.6*g.rng.Float64(), Margin: 0.2 * g.rng.Float64(),
		Model: "arcface-r100", Quality: 0.5 + 0.5*g.rng.Float64(),
	}
	if g.rng.IntN(10) < 7 { // the rest are faces the gallery does not know
		s.Person = g.person()
	}
	if g.sightings%cropEvery == 0 {
		s.Crop = crop(g.site, s.Seq)
	}
	g.lastSighting = id
	return s, nil
}

func (g *siteGen) alert(now time.Time) (wire.Alert, error) {
	id, err := wire.NewID()
	if err != nil {
		return wire.Alert{}, err
	}
	seen := g.lastSighting
	if seen == (wire.ID{}) {
		if seen, err = wire.NewID(); err != nil {
			return wire.Alert{}, err
		}
	}
	a := wire.Alert{
		ID: id, Seq: g.nextSeq(), Site: g.site, Rule: "watchlist-escape-risk", Kind: wire.AlertWatchlist,
		Severity: wire.SeverityWarning, Sighting: seen, Person: g.person(), Camera: g.camera(), At: now,
	}
	a.Evidence = wire.Evidence{Score: 0.7 + 0.25*g.rng.Float64(), Margin: 0.1 + 0.1*g.rng.Float64(), Frames: 5 + g.rng.IntN(20), Crop: crop(g.site, a.Seq)}
	g.lastAlert = &a
	return a, nil
}

// decision decides the last alert; next only asks for one after an alert.
func (g *siteGen) decision(now time.Time) wire.AlertDecision {
	d := wire.AlertDecision{
		ID: wire.MustNewID(), Seq: g.nextSeq(), Site: g.site, Alert: g.lastAlert.ID,
		Decision: wire.DecisionConfirmed, By: fmt.Sprintf("guard%d", 1+g.rng.IntN(6)), At: now,
	}
	if g.rng.IntN(3) == 0 {
		d.Decision, d.Note = wire.DecisionRejected, "not the person on the watchlist"
	}
	g.lastAlert = nil
	return d
}

var auditActions = []string{"login", "alert.decide", "person.view", "sighting.search", "logout"}

// audit extends the site's chain: prev is the last record's hash.
func (g *siteGen) audit(now time.Time) wire.AuditRecord {
	g.auditSeq++
	r := wire.AuditRecord{
		ID: wire.MustNewID(), Seq: g.nextSeq(), Site: g.site, AuditSeq: g.auditSeq, At: now,
		Actor: fmt.Sprintf("guard%d", 1+g.rng.IntN(6)), Role: "operator",
		Action: auditActions[g.rng.IntN(len(auditActions))], Object: g.person(), Prev: g.auditHash,
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%s|%s|%s", r.Prev, r.Site, r.AuditSeq, r.At.Format(time.RFC3339Nano), r.Actor, r.Action))
	r.Hash = hex.EncodeToString(sum[:])
	g.auditHash = r.Hash
	return r
}

var baseCrop = sync.OnceValue(func() []byte {
	// A 112x112 grey face-sized image with texture, about the size of a
	// real crop once encoded.
	img := image.NewGray(image.Rect(0, 0, 112, 112))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range 112 {
		for x := range 112 {
			img.SetGray(x, y, color.Gray{Y: uint8((x*y)/49 + rng.IntN(48))})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	return b.Bytes()
})

// crop is a valid JPEG unique to (site, seq): the base image with a
// comment segment naming them, so that the region's content-addressed
// crop store writes each one, as it would real faces.
func crop(site string, seq uint64) []byte {
	base := baseCrop()
	text := fmt.Sprintf("%s/%d", site, seq)
	out := make([]byte, 0, len(base)+4+len(text))
	out = append(out, base[:2]...) // SOI
	out = append(out, 0xFF, 0xFE, byte((len(text)+2)>>8), byte(len(text)+2))
	out = append(out, text...)
	return append(out, base[2:]...)
}
