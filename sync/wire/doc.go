// Package wire is the contract between a facility box (a "site") and its
// region: the MQTT topic tree and the versioned JSON payloads, with their
// validation. TOPICS.md in this directory documents both with an example of
// each payload; a test keeps those examples decodable.
//
// # Topics
//
// Every topic is dozor/v1/{region}/{site}/{kind}; camera status adds the
// camera, dozor/v1/{region}/{site}/camera/{camera}/status. Region, site and
// camera IDs are single literal topic levels (ValidateSegment): no '/', no
// wildcards, no NUL, at most 64 bytes. Build topics with the *Topic
// functions and check received ones with ParseTopic.
//
// # Payloads and versions
//
// Each payload is a JSON object whose "v" is its major version (Version).
// Within a major version a writer may add optional fields; a reader
// ignores fields it does not know, so a site with newer software can talk
// to an older region. Anything an older reader would misread (a field
// removed, renamed, retyped or given a new meaning, an optional field made
// required, a new enumeration value that changes behaviour) is a new major
// version; a reader rejects every major version it does not know with
// ErrUnsupportedVersion. The region therefore upgrades first and reads old
// and new versions until every site has moved.
//
// Keys match exactly (no case folding), a key may appear once, and every
// Decode function enforces MaxPayloadLen (MaxEnrolmentLen for a
// GalleryEnrolment), MaxCropLen, canonical UUIDs, finite numbers in range,
// sequence numbers from 1 to 2^53-1 and timestamps between Epoch and
// MaxClockSkew past the receiver's clock.
// Errors are *FieldError and name the JSON field.
//
// # Sequence numbers
//
// Messages that pass through a site's outbox (sightings, alerts,
// decisions, audit records, gallery acknowledgements and enrolments) carry
// seq, the outbox's sequence number: one counter per site across all those kinds,
// increasing in the order the site stored them. Delivery is at least once
// and in order, so a receiver drops any message whose seq it has already
// stored for that site. Site and camera status are retained state, not
// events: the newest "at" wins. Hardware-test pings (HWTestPing) are
// neither: the installer's test publishes them outside the outbox and
// reads them back itself; the region does not read them.
//
// A region that finds a gap in a site's sequence numbers publishes a
// ResendRequest on the site's resend topic (ResendTopic) naming the
// missing range; the site publishes the messages of that range it still
// keeps again, unchanged, and the region drops the copies it already has.
package wire
