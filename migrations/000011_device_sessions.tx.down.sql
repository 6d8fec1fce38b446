-- The audit log is append-only: records made by devices stay, so the narrower check
-- comes back NOT VALID (it holds for every new record, not for the old ones).
ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_actor_kind_check,
    ADD CONSTRAINT audit_log_actor_kind_check CHECK (actor_kind IN ('staff', 'diner', 'system')) NOT VALID;

DELETE FROM sessions WHERE kind = 'device';
ALTER TABLE sessions
    DROP CONSTRAINT sessions_check,
    DROP CONSTRAINT sessions_kind_check,
    DROP COLUMN device_id,
    ADD CONSTRAINT sessions_kind_check CHECK (kind IN ('staff', 'diner')),
    ADD CONSTRAINT sessions_check CHECK ((kind = 'staff') = (staff_id IS NOT NULL) AND (kind = 'diner') = (diner_id IS NOT NULL));

DROP TABLE devices;
