-- Month end (月结): the close of a community's month, the attempts that found problems,
-- the statements (结算单) written once at close for each sponsor and each canteen operator
-- with their lines, the merchants' sign-off of a statement, and the corrections finance
-- books after a month is closed. Closed months, statements, lines and sign-offs are never
-- changed: triggers refuse it. Amounts are fen; months and days are Asia/Shanghai. The
-- accounting rule is in docs/settlement.md.

-- The group and age tier an order's subsidy part was priced for, so that statements can
-- count meals by group and tier. Orders keep writing order_subsidies as before: a trigger
-- fills the two columns from the diner's eligibilities (as pricing read them: approved and
-- valid on the meal day) and the group the policy version selects. Existing rows are
-- filled from the eligibility history below. NULL tier: not an elder.
ALTER TABLE order_subsidies
    ADD COLUMN priced_group text CHECK (priced_group IN ('elderly', 'worker', 'general')),
    ADD COLUMN priced_tier smallint CHECK (priced_tier IN (0, 60, 70, 80, 90));

-- The age tier on day of someone born on birth: 0 (under 60), 60, 70, 80 or 90; the age
-- goes up on the birthday (born 29 February: on 1 March in common years), as subsidy.TierOn.
CREATE FUNCTION settlement_age_tier(birth date, day date) RETURNS smallint
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (CASE WHEN a >= 90 THEN 90 WHEN a >= 80 THEN 80 WHEN a >= 70 THEN 70 WHEN a >= 60 THEN 60 ELSE 0 END)::smallint
    FROM (SELECT extract(year FROM age(day, birth))::int AS a) AS x
$$;

-- The group (and an elder's tier) a diner was priced as under a policy version's rules on
-- day: the diner's eligibility valid on day whose group the rules' who.groups selects
-- (any group when empty), elders first; 'general' when there is none or no diner.
-- as_priced reads eligibilities as pricing did at the time (status approved); otherwise
-- from their history (approved, expired, or revoked on or after day).
CREATE FUNCTION settlement_priced_group(community bigint, diner bigint, day date, rules jsonb, as_priced boolean,
    OUT grp text, OUT tier smallint) LANGUAGE plpgsql STABLE AS $$
DECLARE
    groups text[] := '{}';
BEGIN
    grp := 'general';
    tier := NULL;
    IF diner IS NULL THEN
        RETURN;
    END IF;
    IF jsonb_typeof(rules -> 'who' -> 'groups') = 'array' THEN
        groups := ARRAY(SELECT jsonb_array_elements_text(rules -> 'who' -> 'groups'));
    END IF;
    SELECT e.grp, CASE WHEN e.grp = 'elderly' THEN settlement_age_tier(e.birth_date, day) END
      INTO grp, tier
      FROM eligibilities e
     WHERE e.community_id = community AND e.diner_id = diner
       AND e.valid_from <= day AND day <= e.valid_until
       AND CASE WHEN as_priced THEN e.status = 'approved'
                ELSE e.status IN ('approved', 'expired')
                     OR (e.status = 'revoked' AND (e.revoked_at AT TIME ZONE 'Asia/Shanghai')::date >= day) END
       AND (cardinality(groups) = 0 OR e.grp = ANY (groups))
     ORDER BY e.grp = 'elderly' DESC, e.id
     LIMIT 1;
    IF NOT FOUND THEN
        grp := 'general';
        tier := NULL;
    END IF;
END $$;

CREATE FUNCTION order_subsidies_priced_group() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.priced_group IS NULL THEN
        SELECT g.grp, g.tier INTO NEW.priced_group, NEW.priced_tier
          FROM orders o
          JOIN policy_versions pv ON pv.policy_id = NEW.policy_id AND pv.version = NEW.policy_version
          CROSS JOIN LATERAL settlement_priced_group(o.community_id, o.diner_id, o.day, pv.rules, true) AS g
         WHERE o.id = NEW.order_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER order_subsidies_priced_group BEFORE INSERT ON order_subsidies
    FOR EACH ROW EXECUTE FUNCTION order_subsidies_priced_group();

UPDATE order_subsidies os SET priced_group = g.grp, priced_tier = g.tier
  FROM orders o, policy_versions pv,
       LATERAL settlement_priced_group(o.community_id, o.diner_id, o.day, pv.rules, false) AS g
 WHERE o.id = os.order_id AND pv.policy_id = os.policy_id AND pv.version = os.policy_version;

-- What a month's statements and checks read, by community and time.
CREATE INDEX ledger_entries_spent_at_idx ON ledger_entries (community_id, created_at) WHERE account = 'spent';
CREATE INDEX payments_community_at_idx ON payments (community_id, (coalesce(success_time, created_at)));
CREATE INDEX refunds_community_settled_idx ON refunds (community_id, settled_at) WHERE status = 'success';
CREATE INDEX orders_community_day_idx ON orders (community_id, day);
CREATE INDEX orders_cash_paid_idx ON orders (community_id, paid_at) WHERE payment_method = 'cash';

-- One row per closed month of a community. The closing transaction inserts it before it
-- writes anything else: whoever else tries to close the same month at the same time (a
-- retried task, a second worker, a second click) waits on this key and then finds it
-- taken, so a month is closed exactly once. override: finance closed it despite the
-- checks' findings, for override_reason; the findings are in close_attempts.
CREATE TABLE month_closes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id     bigint NOT NULL REFERENCES communities (id),
    month            text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    trigger          text NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    override         boolean NOT NULL DEFAULT false,
    override_reason  text NOT NULL DEFAULT '' CHECK (length(override_reason) <= 500),
    actor_kind       text NOT NULL CHECK (actor_kind IN ('staff', 'system')),
    actor_id         bigint,
    actor_name       text NOT NULL,
    closed_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT month_closes_month_key UNIQUE (community_id, month),
    CONSTRAINT month_closes_community_id_key UNIQUE (community_id, id),
    CONSTRAINT month_closes_override_check CHECK (override = (override_reason <> '')),
    CONSTRAINT month_closes_override_staff_check CHECK (NOT override OR (trigger = 'manual' AND actor_kind = 'staff'))
);

-- Every attempt to close a month that ran the checks: blocked (findings, not closed) or
-- closed (close_id set; findings non-empty when finance overrode them).
CREATE TABLE close_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id),
    month         text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    trigger       text NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    outcome       text NOT NULL CHECK (outcome IN ('blocked', 'closed')),
    findings      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(findings) = 'array'),
    close_id      bigint,
    actor_kind    text NOT NULL CHECK (actor_kind IN ('staff', 'system')),
    actor_id      bigint,
    actor_name    text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, close_id) REFERENCES month_closes (community_id, id),
    CHECK ((outcome = 'closed') = (close_id IS NOT NULL)),
    CHECK (outcome = 'closed' OR findings <> '[]')
);
CREATE INDEX close_attempts_month_idx ON close_attempts (community_id, month, id);

-- A statement: what one party's money did in a closed month. kind sponsor: a sponsor's
-- subsidies (sponsor_id; merchant_id is the partner merchant linked to the sponsor at
-- close). kind operator: a canteen operator's takings (merchant_id is the merchant that
-- cooks in the canteens; NULL: canteens the community runs itself). The totals are the
-- sums of the lines by kind; counterparts splits ledger_fen by canteen operator (sponsor)
-- or by sponsor (operator).
CREATE TABLE statements (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id    bigint NOT NULL,
    close_id        bigint NOT NULL,
    month           text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('sponsor', 'operator')),
    sponsor_id      bigint,
    merchant_id     bigint,
    party_name      text NOT NULL,
    meals           integer NOT NULL CHECK (meals >= 0),
    subsidy_fen     bigint NOT NULL,
    reversal_fen    bigint NOT NULL,
    payment_fen     bigint NOT NULL,
    cash_fen        bigint NOT NULL,
    refund_fen      bigint NOT NULL,
    adjustment_fen  bigint NOT NULL,
    ledger_fen      bigint NOT NULL,
    total_fen       bigint NOT NULL,
    counterparts    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(counterparts) = 'array'),
    line_count      integer NOT NULL CHECK (line_count >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT statements_community_id_key UNIQUE (community_id, id),
    CONSTRAINT statements_close_fkey FOREIGN KEY (community_id, close_id) REFERENCES month_closes (community_id, id),
    CONSTRAINT statements_sponsor_fkey FOREIGN KEY (community_id, sponsor_id) REFERENCES sponsors (community_id, id),
    CONSTRAINT statements_merchant_fkey FOREIGN KEY (community_id, merchant_id) REFERENCES merchants (community_id, id),
    CONSTRAINT statements_party_check CHECK ((kind = 'sponsor') = (sponsor_id IS NOT NULL))
);
CREATE UNIQUE INDEX statements_party_key ON statements (close_id, kind, coalesce(sponsor_id, 0), coalesce(merchant_id, 0));
CREATE INDEX statements_month_idx ON statements (community_id, month, id);
CREATE INDEX statements_merchant_idx ON statements (community_id, merchant_id, month) WHERE merchant_id IS NOT NULL;

-- The lines of a statement, one per money move: a ledger move on a pledge's spent account
-- (subsidy = commit, reversal = reverse, ledger_adjust = an adjust entry), a WeChat
-- payment, cash taken at the counter, a refund, or a manual correction. fen is signed from
-- the party's side. adjustment: the move belongs to an order whose meal day lies in an
-- earlier, closed month (ref_statement_id: the statement that covered the order), or it
-- is a manual correction (ref_statement_id: the statement it corrects).
CREATE TABLE statement_lines (
    statement_id      bigint NOT NULL REFERENCES statements (id),
    line_no           integer NOT NULL CHECK (line_no > 0),
    kind              text NOT NULL CHECK (kind IN ('subsidy', 'reversal', 'ledger_adjust', 'payment', 'cash', 'refund', 'manual')),
    adjustment        boolean NOT NULL,
    ref_statement_id  bigint REFERENCES statements (id),
    order_id          bigint,
    canteen_id        bigint,
    operator_id       bigint,  -- the merchant cooking in the canteen; NULL: the community
    sponsor_id        bigint,
    pledge_id         bigint,
    day               date,    -- the order's meal day
    period            text CHECK (period IN ('breakfast', 'lunch', 'dinner')),
    grp               text CHECK (grp IN ('elderly', 'worker', 'general')),
    tier              smallint CHECK (tier IN (0, 60, 70, 80, 90)),
    at                timestamptz NOT NULL,  -- when the money moved
    fen               bigint NOT NULL,
    ref               text NOT NULL DEFAULT '',  -- ledger transaction, transaction_id, out_refund_no, adjustment
    memo              text NOT NULL DEFAULT '',
    PRIMARY KEY (statement_id, line_no),
    CHECK (kind <> 'manual' OR (adjustment AND ref_statement_id IS NOT NULL))
);
CREATE INDEX statement_lines_order_idx ON statement_lines (order_id) WHERE order_id IS NOT NULL;

-- The merchant's answer to a statement, appended and never changed: seq 1 is 'issued' at
-- close; then 'confirmed', or 'disputed' with a comment, which may later be followed by
-- 'confirmed'. A confirmed statement takes no further answer.
CREATE TABLE statement_signoffs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL,
    statement_id  bigint NOT NULL,
    seq           integer NOT NULL CHECK (seq > 0),
    status        text NOT NULL CHECK (status IN ('issued', 'confirmed', 'disputed')),
    comment       text NOT NULL DEFAULT '' CHECK (length(comment) <= 500),
    actor_kind    text NOT NULL CHECK (actor_kind IN ('staff', 'system')),
    actor_id      bigint,
    actor_name    text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT statement_signoffs_seq_key UNIQUE (statement_id, seq),
    FOREIGN KEY (community_id, statement_id) REFERENCES statements (community_id, id),
    CHECK ((seq = 1) = (status = 'issued')),
    CHECK (status <> 'disputed' OR length(comment) >= 2)
);

-- A correction finance books after a month closed: fen (signed, in the sense of the
-- corrected statement's total) lands as a 'manual' line in the statement of the same
-- party for month, the first month after the corrected statement's that was still open.
CREATE TABLE settlement_adjustments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  bigint NOT NULL,
    month         text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    statement_id  bigint NOT NULL,
    order_id      bigint,
    fen           bigint NOT NULL CHECK (fen <> 0 AND fen BETWEEN -10000000000 AND 10000000000),
    reason        text NOT NULL CHECK (length(reason) BETWEEN 2 AND 500),
    actor_kind    text NOT NULL CHECK (actor_kind IN ('staff', 'system')),
    actor_id      bigint,
    actor_name    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, statement_id) REFERENCES statements (community_id, id),
    FOREIGN KEY (community_id, order_id) REFERENCES orders (community_id, id)
);
CREATE INDEX settlement_adjustments_month_idx ON settlement_adjustments (community_id, month);

-- Nothing of a closed month is changed or removed.
CREATE FUNCTION settlement_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed or removed', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER month_closes_immutable BEFORE UPDATE OR DELETE ON month_closes
    FOR EACH ROW EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER close_attempts_immutable BEFORE UPDATE OR DELETE ON close_attempts
    FOR EACH ROW EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER statements_immutable BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER statement_lines_immutable BEFORE UPDATE OR DELETE ON statement_lines
    FOR EACH ROW EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER statement_signoffs_immutable BEFORE UPDATE OR DELETE ON statement_signoffs
    FOR EACH ROW EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER settlement_adjustments_immutable BEFORE UPDATE OR DELETE ON settlement_adjustments
    FOR EACH ROW EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER month_closes_no_truncate BEFORE TRUNCATE ON month_closes
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER statements_no_truncate BEFORE TRUNCATE ON statements
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER statement_lines_no_truncate BEFORE TRUNCATE ON statement_lines
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_immutable();
CREATE TRIGGER statement_signoffs_no_truncate BEFORE TRUNCATE ON statement_signoffs
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_immutable();

-- A statement is written only by the transaction that closes its month, and its lines
-- only by the transaction that writes the statement: a closed statement gains nothing.
CREATE FUNCTION statements_written_at_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN month_closes c ON c.id = n.close_id
                WHERE c.xmin <> pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'a statement is written only when its month is closed' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER statements_written_at_close AFTER INSERT ON statements
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION statements_written_at_close();

CREATE FUNCTION statement_lines_written_at_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN statements s ON s.id = n.statement_id
                WHERE s.xmin <> pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'lines are written only with their statement' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER statement_lines_written_at_close AFTER INSERT ON statement_lines
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION statement_lines_written_at_close();

-- Sign-offs follow issued -> confirmed | disputed, disputed -> confirmed (or disputed again
-- with a new comment), one after the other.
CREATE FUNCTION statement_signoffs_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev text;
BEGIN
    IF NEW.seq = 1 THEN
        RETURN NEW;
    END IF;
    SELECT status INTO prev FROM statement_signoffs WHERE statement_id = NEW.statement_id AND seq = NEW.seq - 1;
    IF prev IS NULL OR prev = 'confirmed' OR NEW.status = 'issued' THEN
        RAISE EXCEPTION 'statement %: % cannot follow %', NEW.statement_id, NEW.status, coalesce(prev, 'nothing')
            USING ERRCODE = 'check_violation', CONSTRAINT = 'statement_signoffs_sequence';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER statement_signoffs_sequence BEFORE INSERT ON statement_signoffs
    FOR EACH ROW EXECUTE FUNCTION statement_signoffs_sequence();
