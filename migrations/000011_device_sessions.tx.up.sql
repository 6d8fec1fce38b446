-- Kitchen devices: a tablet or TV registered to one canteen that stays logged in for
-- months (CANTEEN_DEVICE_SESSION_TTL) until it expires or an admin revokes it. Its bearer
-- token is a session of kind 'device' (one per device); the device row says who
-- registered it, when it was last seen (at most once a minute) and who revoked it.
CREATE TABLE devices (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id        bigint NOT NULL REFERENCES communities (id),
    canteen_id          bigint NOT NULL,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    registered_by       bigint NOT NULL,
    registered_by_name  text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    last_seen_at        timestamptz,
    revoked_at          timestamptz,
    revoked_by          bigint,  -- NULL with revoked_at set: the device logged itself out
    CONSTRAINT devices_community_id_key UNIQUE (community_id, id),
    CONSTRAINT devices_canteen_fkey FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id),
    CONSTRAINT devices_registered_by_fkey FOREIGN KEY (community_id, registered_by) REFERENCES staff (community_id, id),
    CONSTRAINT devices_revoked_by_fkey FOREIGN KEY (community_id, revoked_by) REFERENCES staff (community_id, id),
    CHECK (expires_at > created_at),
    CHECK (revoked_by IS NULL OR revoked_at IS NOT NULL)
);

ALTER TABLE sessions
    ADD COLUMN device_id bigint,
    ADD CONSTRAINT sessions_device_fkey FOREIGN KEY (community_id, device_id) REFERENCES devices (community_id, id) ON DELETE CASCADE,
    DROP CONSTRAINT sessions_kind_check,
    ADD CONSTRAINT sessions_kind_check CHECK (kind IN ('staff', 'diner', 'device')),
    DROP CONSTRAINT sessions_check,
    ADD CONSTRAINT sessions_check CHECK (
        (kind = 'staff') = (staff_id IS NOT NULL)
        AND (kind = 'diner') = (diner_id IS NOT NULL)
        AND (kind = 'device') = (device_id IS NOT NULL));
CREATE UNIQUE INDEX sessions_device_key ON sessions (device_id) WHERE device_id IS NOT NULL;

-- A device may be the actor of an audit record (it acts with the kitchen role).
ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_actor_kind_check,
    ADD CONSTRAINT audit_log_actor_kind_check CHECK (actor_kind IN ('staff', 'diner', 'system', 'device'));
