package uplink

import (
	"context"
)

// galleryChunk hands a message of the gallery revision topic to
// Options.OnGalleryRevision. The uplink does not read it: the chunks are
// signed by the region and checked by the site's gallery sync, which
// alone knows the key and the revision in force.
func (u *Uplink) galleryChunk(payload []byte) {
	u.mu.Lock()
	u.stats.GalleryChunks++
	u.mu.Unlock()
	u.onGallery(payload)
}

// subscribeGallery renews the subscription to the site's gallery revision
// topic after a connect, when the site takes revisions. A refusal is
// logged, not fatal: the outbox still drains, and the region sends the
// revisions again once the ACL has the line.
func (u *Uplink) subscribeGallery(ctx context.Context, bc *brokerConn) error {
	if u.galleryTopic == "" {
		return nil
	}
	refused, err := u.subscribe(ctx, bc, u.galleryTopic)
	if refused {
		u.log.Error("the broker refused the subscription to the region's gallery revisions; the gallery stays as it is (the site's ACL needs a read line for its gallery revision topic)",
			"topic", u.galleryTopic)
	}
	return err
}
