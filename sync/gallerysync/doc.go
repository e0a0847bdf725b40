// Package gallerysync is the format of the region's gallery revisions and
// both ends of it: the region encodes, signs and chunks a Revision with a
// Signer; a site reassembles and verifies the chunks with an Assembler.
//
// A Revision is one numbered change of one site's region-managed persons:
// a delta from the revision before it, or a full set. Its body is the
// revision as JSON (template vectors as base64 of little-endian float32s),
// compressed with gzip. The body is split into chunks published on the
// site's gallery/revision topic (wire.GalleryRevisionTopic), one chunk per
// MQTT message. An MQTT payload may hold any bytes, so a chunk message
// carries its data as they are (base64 would add a third) after a small
// framing:
//
//	"DZGR"           4 bytes, the magic
//	0x01             1 byte, the framing's version (Version)
//	n                4 bytes, big-endian: the length of the JSON header
//	header           n bytes of JSON
//	data             the rest of the message: this chunk's bytes of the body
//
// with a header such as
//
//	{"region":"north","site":"ik5","revision":319,"base":318,"full":false,
//	 "issued":"2025-06-01T12:03:00Z","chunk":0,"chunks":3,"body_size":601234,
//	 "body_sha256":"<64 hex>","key":"<Fingerprint of the signing key>",
//	 "sig":"<base64 Ed25519 signature>"}
//
// A whole message, framing and header included, is at most the chunk size
// the region asked Signer.Chunks for.
//
// The signature covers a fixed text that starts with a domain-separation
// line and lists region, site, revision, base, full, issued, chunks,
// body_size and body_sha256, so every chunk is checkable on its own and
// the body by its hash. Chunk i holds bytes [i*p, min((i+1)*p, body_size))
// of the body, with p = ceil(body_size/chunks).
//
// The Assembler refuses with a typed *Refusal whose Reason is a short code
// (malformed, unsigned, bad_signature, wrong_site, truncated, oversized,
// body_mismatch, bad_body). Whether a complete revision may be applied
// depends on the revision the site runs, which the Assembler does not
// know: CheckOrder answers that (replayed, out_of_order).
//
// The region's key is an Ed25519 key in a PEM PKCS #8 file readable by its
// owner only (GenerateKeyFile, LoadPrivateKeyFile); sites hold its public
// half in the text form "ed25519:<base64>" (FormatPublicKey,
// ParsePublicKey). The standard library's crypto/ed25519, compress/gzip
// and encoding/json do all the work; the package imports nothing else
// but sync/wire.
package gallerysync
