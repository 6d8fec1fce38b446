-- Canteens with meal periods and closures; dishes and set meals; daily menus.

CREATE TABLE canteens (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id   bigint NOT NULL REFERENCES communities (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    address        text NOT NULL DEFAULT '',
    district       text NOT NULL DEFAULT '',
    merchant_id    bigint,  -- the partner merchant that cooks here
    open_weekdays  smallint[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}'
                   CHECK (open_weekdays <@ ARRAY[1,2,3,4,5,6,7]::smallint[]),  -- ISO: 1 = Monday
    closed         boolean NOT NULL DEFAULT false,
    closed_reason  text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT canteens_community_name_key UNIQUE (community_id, name),
    CONSTRAINT canteens_community_id_key UNIQUE (community_id, id),
    CONSTRAINT canteens_merchant_fkey FOREIGN KEY (community_id, merchant_id) REFERENCES merchants (community_id, id)
);

-- Times are wall-clock times in Asia/Shanghai on the meal's date.
CREATE TABLE meal_periods (
    community_id   bigint NOT NULL,
    canteen_id     bigint NOT NULL,
    period         text NOT NULL CHECK (period IN ('breakfast', 'lunch', 'dinner')),
    serve_start    time NOT NULL,
    serve_end      time NOT NULL,
    order_cutoff   time NOT NULL,
    preorder_days  smallint NOT NULL DEFAULT 0 CHECK (preorder_days BETWEEN 0 AND 14),
    enabled        boolean NOT NULL DEFAULT true,
    PRIMARY KEY (canteen_id, period),
    FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id) ON DELETE CASCADE,
    CHECK (serve_start < serve_end AND order_cutoff <= serve_end)
);

CREATE TABLE canteen_closures (
    community_id  bigint NOT NULL,
    canteen_id    bigint NOT NULL,
    day           date NOT NULL,
    reason        text NOT NULL DEFAULT '',
    PRIMARY KEY (canteen_id, day),
    FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id) ON DELETE CASCADE
);

CREATE TABLE dishes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id   bigint NOT NULL REFERENCES communities (id),
    kind           text NOT NULL DEFAULT 'dish' CHECK (kind IN ('dish', 'set')),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    category       text NOT NULL CHECK (length(category) BETWEEN 1 AND 30),
    diet_tags      text[] NOT NULL DEFAULT '{}',
    description    text NOT NULL DEFAULT '',
    photo_url      text NOT NULL DEFAULT '',
    price_fen      bigint NOT NULL CHECK (price_fen > 0 AND price_fen <= 100000000),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dishes_community_name_key UNIQUE (community_id, name),
    CONSTRAINT dishes_community_id_key UNIQUE (community_id, id)
);

-- The dishes a set meal (kind = 'set') is made of.
CREATE TABLE set_meal_items (
    community_id  bigint NOT NULL,
    set_id        bigint NOT NULL,
    dish_id       bigint NOT NULL,
    quantity      integer NOT NULL CHECK (quantity BETWEEN 1 AND 20),
    PRIMARY KEY (set_id, dish_id),
    FOREIGN KEY (community_id, set_id) REFERENCES dishes (community_id, id) ON DELETE CASCADE,
    FOREIGN KEY (community_id, dish_id) REFERENCES dishes (community_id, id),
    CHECK (set_id <> dish_id)
);

CREATE TABLE menus (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL,
    canteen_id    bigint NOT NULL,
    day           date NOT NULL,
    period        text NOT NULL CHECK (period IN ('breakfast', 'lunch', 'dinner')),
    status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    published_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT menus_canteen_day_period_key UNIQUE (canteen_id, day, period),
    CONSTRAINT menus_community_id_key UNIQUE (community_id, id),
    FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id),
    CHECK ((status = 'published') = (published_at IS NOT NULL))
);
CREATE INDEX menus_day_idx ON menus (community_id, day);

-- sold is kept by ordering in the same transaction as the order; never above supply.
CREATE TABLE menu_items (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL,
    menu_id       bigint NOT NULL,
    dish_id       bigint NOT NULL,
    price_fen     bigint NOT NULL CHECK (price_fen > 0 AND price_fen <= 100000000),
    supply        integer NOT NULL CHECK (supply BETWEEN 0 AND 100000),
    sold          integer NOT NULL DEFAULT 0 CHECK (sold >= 0 AND sold <= supply),
    position      integer NOT NULL DEFAULT 0,
    CONSTRAINT menu_items_menu_dish_key UNIQUE (menu_id, dish_id),
    FOREIGN KEY (community_id, menu_id) REFERENCES menus (community_id, id) ON DELETE CASCADE,
    FOREIGN KEY (community_id, dish_id) REFERENCES dishes (community_id, id)
);
