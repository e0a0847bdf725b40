package gallery

import (
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/gallerysync"
)

// toPerson converts a person as the store holds it to a person as a
// revision carries it.
func toPerson(p store.Person, photos []store.Photo, templates []store.Template) gallerysync.Person {
	out := gallerysync.Person{ID: p.ID, DisplayName: p.DisplayName, Status: siteStatus(p.Status),
		Categories: p.Categories, WatchLists: p.WatchLists}
	for _, ph := range photos {
		out.Photos = append(out.Photos, gallerysync.Photo{SHA256: ph.SHA256, JPEG: ph.JPEG, Source: ph.Source})
	}
	for _, t := range templates {
		out.Templates = append(out.Templates, gallerysync.Template{Model: t.Model, Vec: t.Vec,
			Quality: t.Quality, PhotoSHA256: t.PhotoSHA256})
	}
	return out
}

// siteStatus is the status a site is told: a person on their way to the
// site is in transit there; anyone else it holds is active.
func siteStatus(s string) string {
	if s == store.PersonInTransit {
		return gallerysync.StatusInTransit
	}
	return gallerysync.StatusActive
}
