-- Version 2: outbox payloads are stored final, composed in the event's
-- transaction with their seq, and a payload that holds a face crop is
-- sealed. crop_of names the sighting whose crop such a payload holds; the
-- payload is sealed (bound to the outbox, its column and seq) exactly
-- when crop_of is not NULL. Unsent rows of version 1 (seq 0 inside) are
-- finished by the store's Go step of this migration.
ALTER TABLE outbox ADD COLUMN crop_of TEXT CHECK (crop_of <> '');
