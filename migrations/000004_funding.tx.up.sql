-- Funding: sponsors (资助方), their pledges (认捐/预算), the balances of each pledge period,
-- the double-entry ledger that moves the money, the subsidy holds of each order, and the
-- versioned subsidy policies (公益价规则) that spend it. Amounts are fen.

CREATE TABLE sponsors (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id),
    kind          text NOT NULL CHECK (kind IN ('merchant', 'government', 'charity', 'community_fund')),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    merchant_id   bigint,  -- the partner merchant behind a 'merchant' sponsor, if linked
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sponsors_community_name_key UNIQUE (community_id, name),
    CONSTRAINT sponsors_community_id_key UNIQUE (community_id, id),
    CONSTRAINT sponsors_merchant_fkey FOREIGN KEY (community_id, merchant_id) REFERENCES merchants (community_id, id),
    CONSTRAINT sponsors_merchant_kind_check CHECK (merchant_id IS NULL OR kind = 'merchant')
);

-- A monthly pledge gives amount_fen every Asia/Shanghai month from the month of starts_on
-- (a 1st) to the month of ends_on (a month's last day; NULL: no end). A range pledge gives
-- amount_fen once for the days starts_on..ends_on. Empty canteen_ids: every canteen.
CREATE TABLE pledges (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL,
    sponsor_id    bigint NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind          text NOT NULL CHECK (kind IN ('monthly', 'range')),
    amount_fen    bigint NOT NULL CHECK (amount_fen > 0 AND amount_fen <= 10000000000),
    starts_on     date NOT NULL,
    ends_on       date,
    canteen_ids   bigint[] NOT NULL DEFAULT '{}',
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pledges_community_id_key UNIQUE (community_id, id),
    CONSTRAINT pledges_sponsor_name_key UNIQUE (community_id, sponsor_id, name),
    CONSTRAINT pledges_sponsor_fkey FOREIGN KEY (community_id, sponsor_id) REFERENCES sponsors (community_id, id),
    CONSTRAINT pledges_dates_check CHECK (ends_on IS NULL OR ends_on >= starts_on),
    CONSTRAINT pledges_kind_dates_check CHECK (
        (kind = 'range' AND ends_on IS NOT NULL)
        OR (kind = 'monthly' AND extract(day FROM starts_on) = 1
            AND (ends_on IS NULL OR extract(day FROM ends_on + 1) = 1)))
);
CREATE INDEX pledges_sponsor_idx ON pledges (community_id, sponsor_id);

-- The money of one pledge period: "YYYY-MM" for a monthly pledge, "range" for a range
-- pledge. A row is created (and funded by a 'fund' journal entry) the first time the
-- period is touched. Decisions read and change these rows in the same transaction as the
-- journal entries that explain the change; funded = what the source account gave.
CREATE TABLE pledge_balances (
    community_id   bigint NOT NULL,
    pledge_id      bigint NOT NULL,
    period         text NOT NULL CHECK (period ~ '^(range|[0-9]{4}-(0[1-9]|1[0-2]))$'),
    funded_fen     bigint NOT NULL,
    available_fen  bigint NOT NULL,
    held_fen       bigint NOT NULL DEFAULT 0,
    spent_fen      bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pledge_id, period),
    CONSTRAINT pledge_balances_community_key UNIQUE (community_id, pledge_id, period),
    CONSTRAINT pledge_balances_pledge_fkey FOREIGN KEY (community_id, pledge_id) REFERENCES pledges (community_id, id),
    CONSTRAINT pledge_balances_nonnegative CHECK (available_fen >= 0 AND held_fen >= 0 AND spent_fen >= 0),
    CONSTRAINT pledge_balances_total CHECK (funded_fen = available_fen + held_fen + spent_fen)
);

-- The journal. A ledger transaction (txn_id, drawn from ledger_txn_id_seq) is a set of
-- entries whose amounts sum to zero; every entry moves money between the accounts of one
-- pledge period: source (the sponsor's side: negative by what it gave), available, held,
-- spent. Entries are never changed or removed; a correction is a new transaction.
CREATE SEQUENCE ledger_txn_id_seq AS bigint;

CREATE TABLE ledger_entries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txn_id        bigint NOT NULL,
    community_id  bigint NOT NULL,
    pledge_id     bigint NOT NULL,
    period        text NOT NULL,
    account       text NOT NULL CHECK (account IN ('source', 'available', 'held', 'spent')),
    amount_fen    bigint NOT NULL CHECK (amount_fen <> 0),
    kind          text NOT NULL CHECK (kind IN ('fund', 'topup', 'adjust', 'hold', 'commit', 'release', 'reverse')),
    order_id      bigint,  -- the order of hold/commit/release/reverse; orders come later
    actor_kind    text NOT NULL CHECK (actor_kind IN ('staff', 'diner', 'system')),
    actor_id      bigint,
    actor_name    text NOT NULL,
    memo          text NOT NULL DEFAULT '' CHECK (length(memo) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_entries_balance_fkey FOREIGN KEY (community_id, pledge_id, period)
        REFERENCES pledge_balances (community_id, pledge_id, period),
    CONSTRAINT ledger_entries_order_check CHECK ((kind IN ('hold', 'commit', 'release', 'reverse')) = (order_id IS NOT NULL))
);
CREATE INDEX ledger_entries_txn_idx ON ledger_entries (txn_id);
CREATE INDEX ledger_entries_pledge_idx ON ledger_entries (community_id, pledge_id, period, id);
CREATE INDEX ledger_entries_order_idx ON ledger_entries (community_id, order_id) WHERE order_id IS NOT NULL;

CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();

-- Checked at commit: every ledger transaction written by the committing transaction sums to zero.
CREATE FUNCTION ledger_txn_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    SELECT sum(amount_fen) INTO total FROM ledger_entries WHERE txn_id = NEW.txn_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum % fen)', NEW.txn_id, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_txn_balanced';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_txn_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_txn_balanced();

-- Subsidy policies. A policy's rules are never edited in place: each change is a new row
-- of policy_versions, and policies.current_version points at the one pricing uses. An
-- order keeps (policy_id, version), so what it was priced by stays readable.
CREATE TABLE policies (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id     bigint NOT NULL REFERENCES communities (id),
    current_version  bigint NOT NULL CHECK (current_version > 0),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policies_community_id_key UNIQUE (community_id, id)
);

-- valid_from / valid_to (inclusive, Asia/Shanghai; NULL: open) copy the rules' validity so
-- that pricing can select the policies of a day without reading every version.
CREATE TABLE policy_versions (
    community_id  bigint NOT NULL,
    policy_id     bigint NOT NULL,
    version       bigint NOT NULL CHECK (version > 0),
    name          text NOT NULL,  -- copied from the rules for listings
    rules         jsonb NOT NULL,
    valid_from    date,
    valid_to      date,
    actor_kind    text NOT NULL CHECK (actor_kind IN ('staff', 'diner', 'system')),
    actor_id      bigint,
    actor_name    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (policy_id, version),
    CONSTRAINT policy_versions_community_key UNIQUE (community_id, policy_id, version),
    CONSTRAINT policy_versions_policy_fkey FOREIGN KEY (community_id, policy_id) REFERENCES policies (community_id, id),
    CONSTRAINT policy_versions_valid_check CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to)
);

ALTER TABLE policies ADD CONSTRAINT policies_current_version_fkey
    FOREIGN KEY (community_id, id, current_version) REFERENCES policy_versions (community_id, policy_id, version)
    DEFERRABLE INITIALLY DEFERRED;

CREATE FUNCTION policy_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'policy_versions are immutable' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER policy_versions_immutable BEFORE UPDATE OR DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_immutable();

-- The pledges each policy version draws on; the keys keep them in the policy's community.
CREATE TABLE policy_pledges (
    community_id    bigint NOT NULL,
    policy_id       bigint NOT NULL,
    version         bigint NOT NULL,
    pledge_id       bigint NOT NULL,
    PRIMARY KEY (policy_id, version, pledge_id),
    FOREIGN KEY (community_id, policy_id, version) REFERENCES policy_versions (community_id, policy_id, version),
    FOREIGN KEY (community_id, pledge_id) REFERENCES pledges (community_id, id)
);
CREATE INDEX policy_pledges_pledge_idx ON policy_pledges (community_id, pledge_id);

-- The subsidy money each order holds. order_funding is one row per order that holds
-- anything: its state, and the refunds reversed so far. order_holds has one row per
-- (pledge, policy) of the order: held_fen is what was held; committed_fen and
-- released_fen become held_fen when the hold is committed (paid) or released (cancelled,
-- expired); reversed_fen is the part of the committed money refunds have given back.
CREATE TABLE order_funding (
    community_id    bigint NOT NULL REFERENCES communities (id),
    order_id        bigint NOT NULL,
    day             date NOT NULL,
    state           text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'committed', 'released')),
    paid_total_fen  bigint CHECK (paid_total_fen > 0),  -- set by the first refund
    refunded_fen    bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, order_id),
    CONSTRAINT order_funding_refund_check CHECK (
        refunded_fen >= 0 AND (refunded_fen = 0 OR (state = 'committed' AND refunded_fen <= paid_total_fen)))
);

CREATE TABLE order_holds (
    community_id    bigint NOT NULL,
    order_id        bigint NOT NULL,
    pledge_id       bigint NOT NULL,
    period          text NOT NULL,
    policy_id       bigint NOT NULL,
    policy_version  bigint NOT NULL,
    held_fen        bigint NOT NULL CHECK (held_fen > 0),
    committed_fen   bigint NOT NULL DEFAULT 0,
    released_fen    bigint NOT NULL DEFAULT 0,
    reversed_fen    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, order_id, pledge_id, policy_id),
    FOREIGN KEY (community_id, order_id) REFERENCES order_funding (community_id, order_id),
    FOREIGN KEY (community_id, pledge_id, period) REFERENCES pledge_balances (community_id, pledge_id, period),
    CONSTRAINT order_holds_policy_fkey FOREIGN KEY (community_id, policy_id, policy_version)
        REFERENCES policy_versions (community_id, policy_id, version),
    -- an order draws only on a pledge its policy version names
    CONSTRAINT order_holds_policy_pledge_fkey FOREIGN KEY (policy_id, policy_version, pledge_id)
        REFERENCES policy_pledges (policy_id, version, pledge_id),
    CONSTRAINT order_holds_state_check CHECK (
        committed_fen IN (0, held_fen) AND released_fen IN (0, held_fen) AND (committed_fen = 0 OR released_fen = 0)),
    CONSTRAINT order_holds_reversed_check CHECK (reversed_fen >= 0 AND reversed_fen <= committed_fen)
);
CREATE INDEX order_holds_pledge_idx ON order_holds (community_id, pledge_id, period);
