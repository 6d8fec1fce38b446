-- The kitchen: stations, tickets (one per paid order) with their lines, pickup number
-- counters per canteen × day × meal period, and the append-only history of ticket moves.

-- A station cooks the dishes of its categories. A canteen with no station rows has one
-- implicit station that cooks everything; a station with no categories takes what no
-- other station claims.
CREATE TABLE kitchen_stations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL,
    canteen_id    bigint NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    categories    text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT kitchen_stations_name_key UNIQUE (canteen_id, name),
    FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id) ON DELETE CASCADE
);

-- The pickup numbers handed out so far in each canteen's meal period.
CREATE TABLE pickup_counters (
    community_id  bigint NOT NULL,
    canteen_id    bigint NOT NULL,
    day           date NOT NULL,     -- Asia/Shanghai
    period        text NOT NULL CHECK (period IN ('breakfast', 'lunch', 'dinner')),
    last_seq      integer NOT NULL CHECK (last_seq >= 1),
    PRIMARY KEY (canteen_id, day, period),
    FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id) ON DELETE CASCADE
);

-- Exactly one ticket per order (tickets_order_id_key). elder_priority says the ticket is
-- served first; it never says why (no group or hardship status reaches the kitchen).
CREATE TABLE tickets (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id      bigint NOT NULL,
    canteen_id        bigint NOT NULL,
    order_id          bigint NOT NULL,
    day               date NOT NULL,
    period            text NOT NULL CHECK (period IN ('breakfast', 'lunch', 'dinner')),
    pickup_no         text NOT NULL CHECK (pickup_no ~ '^[A-Z][0-9]{3}$'),
    stations          bigint[] NOT NULL DEFAULT '{}',  -- stations with lines; empty: the implicit station
    state             text NOT NULL CHECK (state IN ('new', 'preparing', 'ready', 'picked_up', 'out_for_delivery', 'delivered')),
    delivery          boolean NOT NULL,
    notes             text NOT NULL DEFAULT '',
    elder_priority    boolean NOT NULL DEFAULT false,
    reprints          integer NOT NULL DEFAULT 0 CHECK (reprints >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    state_changed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_order_id_key UNIQUE (order_id),
    CONSTRAINT tickets_pickup_key UNIQUE (canteen_id, day, period, pickup_no),
    CONSTRAINT tickets_community_id_key UNIQUE (community_id, id),
    FOREIGN KEY (community_id, order_id) REFERENCES orders (community_id, id),
    FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id),
    CHECK (delivery OR state NOT IN ('out_for_delivery', 'delivered')),
    CHECK (NOT delivery OR state <> 'picked_up')
);
CREATE INDEX tickets_open_idx ON tickets (community_id, canteen_id, created_at, id)
    WHERE state NOT IN ('picked_up', 'delivered');

CREATE TABLE ticket_lines (
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    line_no     integer NOT NULL CHECK (line_no > 0),
    name        text NOT NULL,
    qty         integer NOT NULL CHECK (qty > 0),
    note        text NOT NULL DEFAULT '',
    station_id  bigint REFERENCES kitchen_stations (id) ON DELETE SET NULL,  -- NULL: the implicit station
    PRIMARY KEY (ticket_id, line_no)
);

-- Every move of a ticket, for recall and for the record; from_state is NULL at creation.
CREATE TABLE ticket_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL,
    ticket_id     bigint NOT NULL REFERENCES tickets (id),
    from_state    text,
    to_state      text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_kind    text NOT NULL,
    actor_id      bigint NOT NULL DEFAULT 0,
    actor_name    text NOT NULL DEFAULT ''
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);

CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only';
END
$$;
CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only();

-- Paid orders waiting for the kitchen, for the re-drive of missing tickets.
CREATE INDEX orders_paid_idx ON orders (paid_at) WHERE status = 'paid';
