//go:build cgo

package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	edgestore "github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	rconfig "github.com/dozor-edge/dozor/region/config"
	renrol "github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/gallery"
	"github.com/dozor-edge/dozor/region/store"
)

// Knobs of the gallery test: how soon the region sends an unacknowledged
// revision again.
const galleryResend = 2 * time.Second

// TestGalleryFollowsPrisoners runs one regiond and two real facility
// daemons, ik5 and ik6, whose cameras both show the labelled clip and
// whose galleries start empty but for one person booked at ik6's gate;
// everything else they hold comes from the region:
//   - the person booked at ik6 goes up to the region and comes back as
//     the region's, with one copy of the photo at both ends;
//   - a person enrolled at the region for ik5 reaches ik5's gallery and
//     is named on its camera, and not on ik6's;
//   - a transfer to ik6 goes through its states; then ik6 names them and
//     ik5 no longer does;
//   - ik6 is cut off during three gallery revisions and converges when
//     its link comes back;
//   - a transfer to ik5 started while ik5 is cut off waits in transit
//     and completes when ik5 returns.
func TestGalleryFollowsPrisoners(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	videoDir := testenv.TestData(t, "video")
	ctx := context.Background()
	began := time.Now()

	rg := startRegion(t)
	rg.cfg.Models.Dir = modelDir
	rg.cfg.Gallery.ResendAfter = galleryResend
	pwA, err := rconfig.AddSite(rg.cfg.Broker.SitesFile, "ik5")
	if err != nil {
		t.Fatal(err)
	}
	pwB, err := rconfig.AddSite(rg.cfg.Broker.SitesFile, "ik6")
	if err != nil {
		t.Fatal(err)
	}
	rg.run(t)
	pub := rg.publicKey(t)

	clip := hamilton(t, videoDir)
	linkA := startProxy(t, strings.TrimPrefix(rg.d.MQTTURL(), "tcp://"))
	linkB := startProxy(t, strings.TrimPrefix(rg.d.MQTTURL(), "tcp://"))
	cfgA := edgeConfig(t, "ik5", linkA.url(), pwA, startCamera(t, clip).URL(), modelDir)
	cfgB := edgeConfig(t, "ik6", linkB.url(), pwB, startCamera(t, clip).URL(), modelDir)
	cfgA.Gallery.RegionPublicKey, cfgB.Gallery.RegionPublicKey = pub, pub

	const lin = "lin-manuel-miranda"
	photos := map[string]string{}
	for _, p := range enrolmentPhotos(videoDir) {
		photos[strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))] = p
	}
	// obama is booked at ik6's gate before the region knows him.
	eng, err := engines.New(modelDir, engines.Default, opencv.DefaultDetectorConfig)
	if err != nil {
		t.Fatal(err)
	}
	enrol(t, cfgB, eng, []string{photos["obama"]})
	eng.Close()
	ik5, ik6 := startSite(t, cfgA), startSite(t, cfgB)

	// The local enrolment goes up and comes back as the region's, once.
	waitUntil(t, 2*time.Minute, "obama in the region's gallery", func() bool {
		p, err := rg.st.Person(ctx, "obama")
		return err == nil && p.Templates > 0
	})
	inStep(t, rg, "ik6")
	if p, err := rg.st.Person(ctx, "obama"); err != nil || p.Facility != "ik6" || p.Photos != 1 {
		t.Errorf("obama at the region: %+v, %v; want held at ik6 with one photo", p, err)
	}
	origin, n := personAt(t, ik6, "obama")
	if origin != edgestore.OriginRegion || n != 1 {
		t.Errorf("obama at ik6: origin %q, %d photos; want the region's, one photo", origin, n)
	}
	t.Logf("obama booked at ik6's gate: in the region's gallery, held at ik6, and back at ik6 as the region's (%s, %d photo), %v into the test",
		origin, n, time.Since(began).Round(100*time.Millisecond))

	// Enrolled at the region for ik5: in ik5's gallery and named there.
	enrolAtRegion(t, rg, lin, "ik5", photos[lin])
	inStep(t, rg, "ik5")
	enrolledAt := time.Now()
	named := waitSighting(t, rg, "ik5", lin, time.Time{})
	t.Logf("%s enrolled at the region for ik5: named on ik5's camera %v later (score %.3f)",
		lin, named.Received.Sub(enrolledAt).Round(100*time.Millisecond), named.Score)
	if got := sightingsOf(t, rg, "ik6", lin, time.Time{}); len(got) > 0 {
		t.Errorf("ik6 named %s %d times while ik5 held them", lin, len(got))
	}
	if ids := personsAt(t, ik6); !slices.Equal(ids, []string{"obama"}) {
		t.Errorf("ik6's gallery holds %v; want obama alone", ids)
	}

	// A transfer to ik6, followed on the transfer desk's data.
	tr, err := rg.st.StartTransfer(ctx, "test-supervisor", lin, "ik6", "court hearing")
	if err != nil {
		t.Fatal(err)
	}
	rg.d.Publisher().Kick("")
	seen := followTransfer(t, rg, tr.ID, store.TransferActive)
	tr = transferOf(t, rg, tr.ID)
	t.Logf("transfer %s -> %s: states seen %v; requested %s, removed at ik5 +%v, in transit +%v, active at ik6 +%v",
		tr.From, tr.To, seen, tr.RequestedAt.Format(time.TimeOnly), tr.RemovedAt.Sub(tr.RequestedAt).Round(10*time.Millisecond),
		tr.TransitAt.Sub(tr.RequestedAt).Round(10*time.Millisecond), tr.ActiveAt.Sub(tr.RequestedAt).Round(10*time.Millisecond))
	if tr.RemovedAt.IsZero() || tr.TransitAt.Before(tr.RemovedAt) || tr.ActiveAt.Before(tr.TransitAt) {
		t.Errorf("transfer steps out of order: removed %v, in transit %v, active %v", tr.RemovedAt, tr.TransitAt, tr.ActiveAt)
	}
	if ids := personsAt(t, ik5); slices.Contains(ids, lin) {
		t.Errorf("ik5 still holds %s after the transfer: %v", lin, ids)
	}
	atB := waitSighting(t, rg, "ik6", lin, tr.ActiveAt)
	t.Logf("ik6 named %s %v after the transfer became active", lin, atB.Received.Sub(tr.ActiveAt).Round(100*time.Millisecond))
	// ik5 keeps watching the clip, in which the person appears on every
	// loop: once it has watched a whole loop after confirming the
	// removal, no track that began after the removal names them.
	loop := time.Duration(float64(clip.Frames()) / clip.FPS * float64(time.Second))
	waitUntil(t, 2*time.Minute, "ik5 watching a whole loop after the removal", func() bool {
		got, _, err := rg.st.Sightings(ctx, store.SightingQuery{Site: "ik5", From: tr.RemovedAt.Add(loop), Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return len(got) > 0
	})
	after, _, err := rg.st.Sightings(ctx, store.SightingQuery{Site: "ik5", From: tr.RemovedAt, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	unknown := 0
	for _, s := range after {
		switch {
		case s.Person == "":
			unknown++
		case s.FirstSeen.After(tr.RemovedAt):
			t.Errorf("ik5 named %s in a track that began %v after the removal", s.Person, s.FirstSeen.Sub(tr.RemovedAt))
		}
	}
	if unknown == 0 {
		t.Error("ik5 had no unknown sighting in the loop after the removal")
	}
	t.Logf("ik5 in the %v loop after the removal: %d sightings, %d unknown, none naming anyone", loop.Round(100*time.Millisecond), len(after), unknown)

	// ik6 cut off during three revisions; it converges on return.
	linkB.cut()
	before := siteGallery(t, rg, "ik6")
	enrolAtRegion(t, rg, "alex-lacamoire", "ik6", photos["alex-lacamoire"])
	for id, name := range map[string]string{lin: "Lin-Manuel Miranda", "obama": "Barack Obama"} {
		p, err := rg.st.Person(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p.DisplayName = name
		if err := rg.st.PutPerson(ctx, "test-supervisor", p); err != nil {
			t.Fatal(err)
		}
	}
	rg.d.Publisher().Kick("")
	during := siteGallery(t, rg, "ik6")
	if during.Issued < before.Issued+3 || during.InForce != before.InForce {
		t.Fatalf("while ik6 was cut off: issued %d -> %d, in force %d -> %d; want three more issued, none applied",
			before.Issued, during.Issued, before.InForce, during.InForce)
	}
	linkB.restore()
	restored := time.Now()
	inStep(t, rg, "ik6")
	t.Logf("ik6 cut off during revisions %d..%d: in step %v after its link came back",
		before.Issued+1, during.Issued, time.Since(restored).Round(100*time.Millisecond))
	if ids := personsAt(t, ik6); !slices.Equal(ids, []string{"alex-lacamoire", lin, "obama"}) {
		t.Errorf("ik6 holds %v after converging", ids)
	}

	// A transfer to a site that is cut off waits in transit and completes
	// when the site returns: alex-lacamoire goes from ik6 to ik5 while
	// ik5's link is cut.
	linkA.cut()
	tr2, err := rg.st.StartTransfer(ctx, "test-supervisor", "alex-lacamoire", "ik5", "hospital")
	if err != nil {
		t.Fatal(err)
	}
	rg.d.Publisher().Kick("")
	followTransfer(t, rg, tr2.ID, store.TransferInTransit)
	if g := siteGallery(t, rg, "ik5"); g.InForce == g.Issued {
		t.Errorf("ik5 in step (revision %d) while its link was cut", g.InForce)
	}
	linkA.restore()
	restored = time.Now()
	followTransfer(t, rg, tr2.ID, store.TransferActive)
	t.Logf("transfer to ik5 started while its link was cut: in transit until it came back, active %v later", time.Since(restored).Round(100*time.Millisecond))
	inStep(t, rg, "ik5")
	inStep(t, rg, "ik6")
	if ids := personsAt(t, ik5); !slices.Equal(ids, []string{"alex-lacamoire"}) {
		t.Errorf("ik5 holds %v at the end", ids)
	}
	if ids := personsAt(t, ik6); !slices.Equal(ids, []string{lin, "obama"}) {
		t.Errorf("ik6 holds %v at the end", ids)
	}

	ik5.stop(t)
	ik6.stop(t)
	for _, s := range []*site{ik5, ik6} {
		if n := auditCount(t, s, "gallery.refused"); n != 0 {
			t.Errorf("%s refused %d revisions", s.id, n)
		}
	}
	h := rg.health(t)
	if !h.Healthy {
		t.Errorf("region /healthz at the end: %v", h.Problems)
	}
	t.Logf("gallery publisher: %+v; the test took %v", rg.d.Publisher().Stats(), time.Since(began).Round(time.Second))
	rg.stop(t)
}

// enrolAtRegion enrols one photo of a person for facility at the region,
// as the dashboard's enrolment page does, and wants it enrolled.
func enrolAtRegion(t *testing.T, rg *regionUnderTest, person, facility, photo string) {
	t.Helper()
	data, err := os.ReadFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rg.d.Enroller().Enrol(context.Background(), "test-supervisor",
		renrol.Profile{ID: person, Facility: facility}, []renrol.Photo{{Name: filepath.Base(photo), Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Status.Failed() {
		t.Fatalf("enrolling %s at the region: %+v", person, res)
	}
	rg.d.Publisher().Kick("")
}

// inStep waits until the site runs the newest revision issued to it.
func inStep(t *testing.T, rg *regionUnderTest, site string) {
	t.Helper()
	waitUntil(t, 2*time.Minute, site+" running its newest gallery revision", func() bool {
		g := siteGallery(t, rg, site)
		return g.Issued > 0 && g.InForce == g.Issued
	})
}

func siteGallery(t *testing.T, rg *regionUnderTest, site string) store.GallerySite {
	t.Helper()
	sites, err := rg.st.GallerySites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		if s.Site == site {
			return s
		}
	}
	return store.GallerySite{Site: site}
}

func transferOf(t *testing.T, rg *regionUnderTest, id string) store.Transfer {
	t.Helper()
	tr, err := rg.st.Transfer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// followTransfer reads the transfer as the desk does until it reaches
// state, and returns the states it saw on the way.
func followTransfer(t *testing.T, rg *regionUnderTest, id, state string) []string {
	t.Helper()
	var seen []string
	waitUntil(t, 2*time.Minute, "transfer "+id+" "+state, func() bool {
		tr := transferOf(t, rg, id)
		if len(seen) == 0 || seen[len(seen)-1] != tr.State {
			seen = append(seen, tr.State)
		}
		if tr.State == store.TransferCancelled {
			t.Fatalf("transfer %s cancelled", id)
		}
		return tr.State == state
	})
	return seen
}

// sightingsOf lists a site's sightings naming person with BestAt from
// since on.
func sightingsOf(t *testing.T, rg *regionUnderTest, site, person string, since time.Time) []store.Sighting {
	t.Helper()
	got, _, err := rg.st.Sightings(context.Background(), store.SightingQuery{Site: site, Person: person, From: since, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitSighting waits for a sighting of site naming person whose track
// began after since.
func waitSighting(t *testing.T, rg *regionUnderTest, site, person string, since time.Time) store.Sighting {
	t.Helper()
	var found store.Sighting
	waitUntil(t, 2*time.Minute, site+" naming "+person, func() bool {
		for _, s := range sightingsOf(t, rg, site, person, since) {
			if s.FirstSeen.After(since) {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

// personsAt lists the ids of the persons in a site's store, read while
// its daemon runs (profiles are not sealed).
func personsAt(t *testing.T, s *site) []string {
	t.Helper()
	st, err := edgestore.Open(s.cfg.Store.Path, edgestore.Options{SQLite: sqlite.Binding{}, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := st.Persons(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return ids
}

// personAt reads where a site's profile of a person came from and how
// many photos it holds.
func personAt(t *testing.T, s *site, id string) (edgestore.PersonOrigin, int) {
	t.Helper()
	st, err := edgestore.Open(s.cfg.Store.Path, edgestore.Options{SQLite: sqlite.Binding{}, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.Person(context.Background(), id)
	if err != nil {
		t.Fatalf("%s at %s: %v", id, s.id, err)
	}
	ph, err := st.Photos(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Origin, len(ph)
}

// auditCount counts a site's audit records of one action.
func auditCount(t *testing.T, s *site, action string) int {
	t.Helper()
	db := openReadOnly(t, s.cfg.Store.Path)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// publicKey is the region's gallery public key, which the sites
// configure.
func (r *regionUnderTest) publicKey(t *testing.T) string {
	t.Helper()
	key, _, err := gallery.SigningKey(r.cfg.SigningKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	return gallery.PublicKey(key)
}
