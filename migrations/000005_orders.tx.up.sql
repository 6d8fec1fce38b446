-- Orders with their lines and subsidy parts, limit usage, and the outbox.

CREATE TABLE orders (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id     bigint NOT NULL,
    canteen_id       bigint NOT NULL,
    menu_id          bigint NOT NULL,
    diner_id         bigint,            -- who eats; NULL for an anonymous walk-in at the counter
    placed_by_kind   text NOT NULL CHECK (placed_by_kind IN ('diner', 'staff')),
    placed_by_id     bigint NOT NULL,
    day              date NOT NULL,     -- Asia/Shanghai
    period           text NOT NULL CHECK (period IN ('breakfast', 'lunch', 'dinner')),
    kind             text NOT NULL CHECK (kind IN ('dine_in', 'takeaway', 'delivery')),
    delivery_address text NOT NULL DEFAULT '',
    status           text NOT NULL CHECK (status IN ('pending', 'paid', 'in_kitchen', 'ready', 'picked_up', 'cancelled', 'expired', 'refunded')),
    payment_method   text NOT NULL CHECK (payment_method IN ('wechat', 'cash', 'none')),
    standard_fen     bigint NOT NULL CHECK (standard_fen > 0),
    subsidy_fen      bigint NOT NULL CHECK (subsidy_fen >= 0),
    pay_fen          bigint NOT NULL CHECK (pay_fen >= 0),
    refunded_fen     bigint NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= pay_fen),
    idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 128),
    request_hash     bytea NOT NULL,
    pay_deadline     timestamptz NOT NULL,
    paid_at          timestamptz,
    cancelled_at     timestamptz,
    cancel_reason    text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_idempotency_key UNIQUE (community_id, placed_by_kind, placed_by_id, idempotency_key),
    CONSTRAINT orders_community_id_key UNIQUE (community_id, id),
    FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id),
    FOREIGN KEY (community_id, menu_id) REFERENCES menus (community_id, id),
    FOREIGN KEY (community_id, diner_id) REFERENCES diners (community_id, id),
    CHECK (standard_fen = subsidy_fen + pay_fen),
    CHECK ((kind = 'delivery') = (delivery_address <> '')),
    CHECK ((status IN ('pending', 'cancelled', 'expired')) OR paid_at IS NOT NULL)
);
CREATE INDEX orders_diner_idx ON orders (community_id, diner_id, id DESC);
CREATE INDEX orders_pending_idx ON orders (pay_deadline) WHERE status = 'pending';
CREATE INDEX orders_canteen_day_idx ON orders (community_id, canteen_id, day, period);

CREATE TABLE order_lines (
    community_id  bigint NOT NULL,
    order_id      bigint NOT NULL,
    line_no       integer NOT NULL CHECK (line_no > 0),
    dish_id       bigint NOT NULL,
    name          text NOT NULL,
    category      text NOT NULL,
    qty           integer NOT NULL CHECK (qty BETWEEN 1 AND 20),
    unit_fen      bigint NOT NULL CHECK (unit_fen > 0),
    standard_fen  bigint NOT NULL,
    subsidy_fen   bigint NOT NULL CHECK (subsidy_fen >= 0),
    pay_fen       bigint NOT NULL CHECK (pay_fen >= 0),
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 100),
    PRIMARY KEY (order_id, line_no),
    FOREIGN KEY (community_id, order_id) REFERENCES orders (community_id, id) ON DELETE CASCADE,
    FOREIGN KEY (community_id, dish_id) REFERENCES dishes (community_id, id),
    CHECK (standard_fen = unit_fen * qty AND standard_fen = subsidy_fen + pay_fen)
);

-- Each subsidy part of a line: which policy version and which pledge paid how much.
CREATE TABLE order_subsidies (
    community_id    bigint NOT NULL,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    policy_id       bigint NOT NULL,
    policy_version  bigint NOT NULL,
    pledge_id       bigint NOT NULL,
    sponsor_id      bigint NOT NULL,
    label           text NOT NULL DEFAULT '',
    fen             bigint NOT NULL CHECK (fen > 0),
    FOREIGN KEY (order_id, line_no) REFERENCES order_lines (order_id, line_no) ON DELETE CASCADE
);
CREATE INDEX order_subsidies_order_idx ON order_subsidies (order_id);

-- How much of each policy limit a diner has used in a window ("2026-11-28/lunch",
-- "2026-11-28", "2026-11"). The CHECKs make a double claim impossible: concurrent
-- claims serialise on the row, and the one that would pass the limit fails.
CREATE TABLE limit_usage (
    community_id   bigint NOT NULL,
    policy_id      bigint NOT NULL,
    diner_id       bigint NOT NULL,
    window_key     text NOT NULL,
    max_count      integer,            -- NULL: no count limit
    max_fen        bigint,             -- NULL: no amount limit
    used_count     integer NOT NULL DEFAULT 0,
    used_fen       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (policy_id, diner_id, window_key),
    FOREIGN KEY (community_id, diner_id) REFERENCES diners (community_id, id),
    CONSTRAINT limit_usage_count CHECK (used_count >= 0 AND (max_count IS NULL OR used_count <= max_count)),
    CONSTRAINT limit_usage_fen CHECK (used_fen >= 0 AND (max_fen IS NULL OR used_fen <= max_fen))
);

-- The limit claims of each order, so cancelling or expiring it frees them exactly.
CREATE TABLE order_claims (
    order_id    bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    policy_id   bigint NOT NULL,
    diner_id    bigint NOT NULL,
    window_key  text NOT NULL,
    count       integer NOT NULL,
    fen         bigint NOT NULL,
    released    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (order_id, policy_id, window_key)
);

-- Work to hand to the task queue after commit; relayed and re-driven until sent.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id),
    topic         text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;
