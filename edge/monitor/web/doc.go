// Package web holds the browser side of the guard-post monitor: the
// server-rendered pages (html/template), their stylesheet and scripts, and
// the Russian and English interface text. Everything is embedded in the
// binary; the pages need no external fonts, scripts or build step, and
// work under a strict Content-Security-Policy: the only inline scripts are
// JSON data blocks (the page's parameters and its dictionary), every
// behaviour lives in plain ES modules under /static/js.
//
// The scripts talk to the monitor's JSON API under /api/v1 only, sending
// the session's CSRF token (from <meta name="csrf-token">) in the
// X-CSRF-Token header on every state change. The live player feeds a
// <video> through Media Source Extensions from the camera's live
// WebSocket, or refreshes JPEG snapshots for cameras the browser cannot
// play, and draws the recognised faces on a canvas timed to the video.
//
// The audit page recomputes the audit log's hash chain in the browser with
// WebCrypto, or with the bundled SHA-256 (static/js/sha256.js) where
// crypto.subtle is missing: plain http on a LAN address is not a secure
// context, and the guard-post network rarely has certificates.
package web
