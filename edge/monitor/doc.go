// Package monitor is the guard-post monitor of the edge box: its HTML
// pages, the REST API under /api/v1 that the pages use (described by the
// embedded OpenAPI document served at /api/v1/openapi.json), the
// server-sent event stream of alerts and sightings, and the WebSocket that
// carries a camera's live video, face boxes and health to a browser.
//
// Every route checks the account's role through internal/webauth, and every
// state change the session's CSRF token. JSON bodies are read strictly
// (64 KiB, one value, no unknown fields) and every error is a JSON body
// {"error", "field"}. Uploads are capped per file and per request, and an
// image's header is checked (format, width, height, pixel count) before
// the recognizer's decoder sees it, so a decompression bomb is refused
// unread. Reads of biometric data (crops, photos, searches by photo,
// snapshots taken to enrol) are audited under the account's name.
//
// Every response carries a strict Content-Security-Policy (the pages'
// own modules, styles and connections only, blob: media and images, no
// framing), nosniff, Referrer-Policy and X-Frame-Options, and
// Strict-Transport-Security when served over TLS. The API never leaves
// the site without an enabled administrator, and a password change ends
// every session of the account while the browser that made it goes on
// in a new one.
//
// Browsers never slow the box down: events reach them through a Hub
// whose Publish never waits (a slow subscriber loses events and is told
// how many), live video through the camera's live.Hub, which drops a
// slow viewer's fragments and resumes it at the next keyframe, and each
// socket is written by its own goroutine with a deadline per message.
//
// The monitor is pure Go: the store, the decoder, the recognition engine
// and the enroller reach it through Deps.
package monitor
