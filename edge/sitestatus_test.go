package edge

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// seqStore knows the outbox's last seq, or fails to read it.
type seqStore struct {
	Store
	last uint64
	err  error
}

func (s seqStore) LastSeq(context.Context) (uint64, error) { return s.last, s.err }

func TestSiteStatusCarriesLastSeq(t *testing.T) {
	for _, c := range []struct {
		name string
		st   Store
		want uint64
	}{
		{"outbox with messages", seqStore{last: 1041}, 1041},
		{"empty outbox", seqStore{}, 0},
		{"unreadable", seqStore{last: 7, err: errors.New("disk I/O error")}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &Daemon{st: c.st, log: slog.New(slog.DiscardHandler), deps: Deps{Version: "0.4.0"}}
			s := d.siteStatus()
			if s.LastSeq != c.want || s.Version != "0.4.0" {
				t.Errorf("status = %+v, want last_seq %d, version 0.4.0", s, c.want)
			}
		})
	}
}
