-- Version 4: the region's gallery at the site.
--
--   - persons gain their origin: 'local' for a profile enrolled at the
--     site, 'region' for one a signed gallery revision of the region
--     brought (the region manages it: it is removed or transferred there).
--   - enrolment photos and face templates gain synced: 1 once a revision
--     carried them. A revision replaces a person's synced photos and
--     templates; the unsynced ones (enrolled at the site, or made here
--     from a photo for the site's own model) stay.
--   - gallery_state: the one revision in force, with the SHA-256 of its
--     body and the fingerprint of the key that signed it.

ALTER TABLE persons ADD COLUMN origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'region'));
ALTER TABLE enrolment_photos ADD COLUMN synced INTEGER NOT NULL DEFAULT 0 CHECK (synced IN (0, 1));
ALTER TABLE face_templates ADD COLUMN synced INTEGER NOT NULL DEFAULT 0 CHECK (synced IN (0, 1));
CREATE INDEX persons_by_origin ON persons (origin);

CREATE TABLE gallery_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    revision      INTEGER NOT NULL CHECK (revision >= 0),
    body_sha256   TEXT NOT NULL,
    signer        TEXT NOT NULL,
    applied_at_ms INTEGER NOT NULL
) STRICT;
