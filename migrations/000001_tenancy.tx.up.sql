-- Communities own everything; staff, partner merchants, diners, sessions and the audit log.
-- Child tables reference (community_id, id) pairs so no row can point across communities.

CREATE TABLE communities (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    city        text NOT NULL DEFAULT '',
    district    text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE merchants (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id      bigint NOT NULL REFERENCES communities (id),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    contact_name      text NOT NULL DEFAULT '',
    contact_phone_enc bytea,           -- AES-256-GCM, see contact_phone_key
    contact_phone_key text,            -- id of the data key that sealed it
    contact_email     text NOT NULL DEFAULT '',
    address           text NOT NULL DEFAULT '',
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT merchants_community_name_key UNIQUE (community_id, name),
    CONSTRAINT merchants_community_id_key UNIQUE (community_id, id),
    CHECK ((contact_phone_enc IS NULL) = (contact_phone_key IS NULL))
);

CREATE TABLE staff (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id   bigint NOT NULL REFERENCES communities (id),
    username       text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,39}$'),
    display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 60),
    password_hash  text NOT NULL,
    roles          text[] NOT NULL CHECK (
                       cardinality(roles) > 0
                       AND roles <@ ARRAY['admin','reviewer','kitchen','counter','finance','merchant']),
    canteen_ids    bigint[] NOT NULL DEFAULT '{}',  -- empty: every canteen of the community
    merchant_id    bigint,
    disabled_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_username_key UNIQUE (username),
    CONSTRAINT staff_community_id_key UNIQUE (community_id, id),
    CONSTRAINT staff_merchant_fkey FOREIGN KEY (community_id, merchant_id) REFERENCES merchants (community_id, id),
    -- a merchant user is only a merchant user, and always of one merchant
    CONSTRAINT staff_merchant_role_check CHECK (
        ('merchant' = ANY (roles)) = (merchant_id IS NOT NULL)
        AND (NOT ('merchant' = ANY (roles)) OR roles = ARRAY['merchant']))
);

CREATE TABLE diners (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id),
    app_id        text NOT NULL,
    openid        text NOT NULL,
    unionid       text,
    nickname      text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT diners_app_openid_key UNIQUE (app_id, openid),
    CONSTRAINT diners_community_id_key UNIQUE (community_id, id)
);

-- Sessions store only the SHA-256 of the bearer token.
CREATE TABLE sessions (
    token_hash    bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    kind          text NOT NULL CHECK (kind IN ('staff', 'diner')),
    community_id  bigint NOT NULL REFERENCES communities (id),
    staff_id      bigint REFERENCES staff (id) ON DELETE CASCADE,
    diner_id      bigint REFERENCES diners (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    CHECK ((kind = 'staff') = (staff_id IS NOT NULL) AND (kind = 'diner') = (diner_id IS NOT NULL))
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_staff_idx ON sessions (staff_id) WHERE staff_id IS NOT NULL;

-- Append-only record of who changed what.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id),
    actor_kind    text NOT NULL CHECK (actor_kind IN ('staff', 'diner', 'system')),
    actor_id      bigint,
    actor_name    text NOT NULL,
    action        text NOT NULL,
    entity        text NOT NULL,
    entity_id     text NOT NULL,
    before        jsonb,
    after         jsonb,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (community_id, entity, entity_id, id);
CREATE INDEX audit_log_at_idx ON audit_log (community_id, id DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
