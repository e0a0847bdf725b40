// Package dashboard is the region's web dashboard, served by regiond: every
// facility's status (online, last seen, cameras, sequence numbers, gaps,
// outbox backlog), the live events the ingesters store, the open alerts and
// how long guards take to decide them, a person's sightings across the
// facilities as one timeline, and plots of events and alert outcomes per
// site over time.
//
// Pages are server-rendered html/template shells (dark theme, Russian and
// English) whose ES modules read the JSON API under /api/v1; the API is
// described by the OpenAPI document served at /api/v1/openapi.json. Live
// events are server-sent events fed by a Hub whose Publish never blocks: a
// slow browser loses events (and is told how many), never the ingester.
// The plots are inline SVG drawn by the page from /api/v1/counts: the few
// bars and lines they need do not justify a charting library.
//
// Region supervisors keep the master gallery here: persons by ID, name,
// facility and status; a person's page with their photos (each served
// through an endpoint whose every read the store writes to the region's
// audit log), template metadata and transfers; enrolment from uploaded
// photos with a verdict per photo (an Enroller, optional: without one the
// page answers that the region has no face engine); and the transfer
// desk, where a transfer is started, followed through its states
// (requested, removed at source, in transit, active at destination, or
// cancelled) by polling the API every few seconds, and cancelled with a
// reason until the destination confirms. Supervisors and auditors read
// each site's gallery revisions (issued, in force, last acknowledgement)
// and the region's hash-chained audit log with a check of its chain.
// Operators see nothing biometric. Uploads are capped as on the guard
// monitor (10 files of 8 MiB) and each image's header is read for its
// size before anything decodes it.
//
// Accounts, sessions, CSRF tokens and role checks come from
// internal/webauth, over the store's accounts; its audit records go to
// the log. The session cookie is dozor_region_session. Every route names the roles that may use it:
// operators and supervisors watch the facilities and search people,
// auditors read the statuses and the quarantine, admins manage the
// accounts (add, change role or language, disable, reset the password,
// delete; the last enabled admin cannot be removed, disabled or
// demoted). The first account is made with `regiond user add`.
package dashboard
