package gallery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/region/gallery"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// A site that never answers is sent a full revision once per
// ResendAfter, however many revisions are issued meanwhile; once it
// acknowledges, new revisions reach it at once again.
func TestSilentSiteGetsOneSendPerResendAfter(t *testing.T) {
	e := newEnv(t, nil)
	ik5 := e.site("ik5")
	ctx := t.Context()
	e.enrol("P-00", "ik5", 1)
	e.pub.Round(ctx)
	if r := ik5.next(t); !r.Full || len(r.Upserts) != 1 {
		t.Fatalf("first send: revision %d full %v with %d persons", r.Number, r.Full, len(r.Upserts))
	}
	for i := 1; i <= 5; i++ {
		e.enrol(fmt.Sprintf("P-%02d", i), "ik5", i+1)
		e.clock.Add(5 * time.Second)
		e.pub.Round(ctx)
	}
	ik5.none(t, e)
	if s := e.pub.Stats(); s.Revisions != 1 {
		t.Fatalf("%d revisions published while the site was silent; want the first alone", s.Revisions)
	}

	e.clock.Add(5 * time.Second) // ResendAfter since the first send
	e.pub.Round(ctx)
	issued := e.gallerySite("ik5").Issued
	r := ik5.next(t)
	if !r.Full || r.Number != issued || len(r.Upserts) != 6 {
		t.Fatalf("resend: revision %d full %v with %d persons; want full %d with 6", r.Number, r.Full, len(r.Upserts), issued)
	}
	ik5.none(t, e)

	// In step again: a change goes out at once, as a delta.
	e.ack("ik5", wire.GalleryApplied, issued, issued, "")
	e.enrol("P-06", "ik5", 7)
	e.pub.Round(ctx)
	if d := ik5.next(t); d.Full || d.Number != issued+1 || fmt.Sprint(ids(d.Upserts)) != "[P-06]" {
		t.Fatalf("after the acknowledgement: revision %d full %v upserts %v; want delta %d with P-06",
			d.Number, d.Full, ids(d.Upserts), issued+1)
	}
	// Not yet acknowledged: the next change waits for the acknowledgement...
	e.enrol("P-07", "ik5", 8)
	e.pub.Round(ctx)
	ik5.none(t, e)
	// ...which brings it at once.
	e.ack("ik5", wire.GalleryApplied, issued+1, issued+1, "")
	e.pub.Round(ctx)
	if d := ik5.next(t); d.Number != issued+2 || fmt.Sprint(ids(d.Upserts)) != "[P-07]" {
		t.Fatalf("after the second acknowledgement: revision %d upserts %v; want %d with P-07", d.Number, ids(d.Upserts), issued+2)
	}
	ik5.none(t, e)
}

// Coming online asks for a resend; the online status a site repeats while
// it stays online does not.
func TestOnlineStatusAsksOnce(t *testing.T) {
	e := newEnv(t, nil)
	ik5 := e.site("ik5")
	ctx := t.Context()
	status := func(state string) {
		e.pub.Notice(store.Message{Payload: wire.SiteStatus{Site: "ik5", State: state, At: e.clock.Now()}})
	}
	e.enrol("P-1", "ik5", 1)
	e.pub.Round(ctx)
	first := ik5.next(t)

	e.clock.Add(time.Second)
	status(wire.SiteOnline)
	e.pub.Round(ctx)
	if r := ik5.next(t); r.Number != first.Number || !r.Full {
		t.Fatalf("on coming online: revision %d full %v, want full %d", r.Number, r.Full, first.Number)
	}
	e.clock.Add(2 * time.Second)
	status(wire.SiteOnline) // repeated while online
	e.pub.Round(ctx)
	ik5.none(t, e)

	status(wire.SiteOffline)
	e.clock.Add(time.Second)
	status(wire.SiteOnline)
	e.pub.Round(ctx)
	if r := ik5.next(t); r.Number != first.Number {
		t.Fatalf("on coming back online: revision %d, want %d", r.Number, first.Number)
	}
	ik5.none(t, e)
}

// hookStore calls before ahead of each bulk read of biometrics.
type hookStore struct {
	store.Store
	before func()
}

func (h hookStore) SiteBiometrics(ctx context.Context, actor, site, purpose string, persons []string) (map[string]store.PersonBio, error) {
	h.before()
	return h.Store.SiteBiometrics(ctx, actor, site, purpose, persons)
}

// A site that asks while the revision it asks for is being built is
// answered by that revision, not sent it twice.
func TestAskAnsweredBySendUnderWay(t *testing.T) {
	var e *env
	asks := 0
	e = newEnv(t, func(c *gallery.Config) {
		c.Store = hookStore{Store: c.Store.(store.Store), before: func() {
			if asks == 0 {
				asks++
				e.ack("ik5", wire.GalleryResync, 0, 0, "") // as a site does on connecting
				e.clock.Add(time.Second)
			}
		}}
	})
	ik5 := e.site("ik5")
	ctx := t.Context()
	e.enrol("P-1", "ik5", 1)
	e.pub.Round(ctx)
	if r := ik5.next(t); !r.Full {
		t.Fatalf("revision %d full %v, want full", r.Number, r.Full)
	}
	for range 3 {
		e.clock.Add(2 * time.Second)
		e.pub.Round(ctx)
	}
	ik5.none(t, e)
	if s := e.pub.Stats(); s.Revisions != 1 {
		t.Errorf("%d revisions published, want 1", s.Revisions)
	}
	// Asked again after the send: served.
	e.ack("ik5", wire.GalleryResync, 0, 0, "")
	e.pub.Round(ctx)
	if r := ik5.next(t); !r.Full {
		t.Fatalf("after a new ask: revision %d full %v, want full", r.Number, r.Full)
	}
}
