-- Reconciliation (对账) of WeChat Pay's daily trade bills against our payments and refunds.
-- Each stored bill day of a merchant gets one finding per payment (out_trade_no) and per
-- refund (out_refund_no) it or we know of; the day's findings are replaced as a whole by
-- each run and never edited in place. Finance notes how a finding was resolved in a
-- separate table, so a re-run keeps the notes. Amounts are fen; days are Asia/Shanghai.
-- The rules (which day a finding belongs to, refunds still processing) are in
-- docs/reconciliation.md.

CREATE TABLE reconciliation_entries (
    mchid         text NOT NULL,
    day           date NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('payment', 'refund')),
    ref           text NOT NULL,   -- out_trade_no of a payment, out_refund_no of a refund
    -- Whose it is: from our payment or refund, or from the payment intent of the
    -- out_trade_no when we have no record; NULL when the number is not ours at all.
    community_id  bigint NULL,
    order_id      bigint NULL,
    our_fen       bigint NULL,     -- NULL: we have no (live) record
    bill_fen      bigint NULL,     -- NULL: not on any stored bill
    outcome       text NOT NULL CHECK (outcome IN ('matched', 'missing_ours', 'missing_wechat', 'amount_mismatch')),
    checked_at    timestamptz NOT NULL,
    out_trade_no  text NOT NULL DEFAULT '', -- the payment's, for refunds too
    detail        text NOT NULL DEFAULT '', -- why, for finance: adjacent day, refund still processing …
    PRIMARY KEY (mchid, day, kind, ref),
    FOREIGN KEY (mchid, day) REFERENCES trade_bills (mchid, day) ON DELETE CASCADE,
    CHECK (community_id IS NOT NULL OR order_id IS NULL),
    CHECK (outcome <> 'matched' OR (our_fen IS NOT NULL AND bill_fen IS NOT NULL AND our_fen = bill_fen)),
    CHECK (outcome <> 'amount_mismatch' OR (our_fen IS NOT NULL AND bill_fen IS NOT NULL AND our_fen <> bill_fen)),
    CHECK (outcome <> 'missing_ours' OR (our_fen IS NULL AND bill_fen IS NOT NULL)),
    CHECK (outcome <> 'missing_wechat' OR (our_fen IS NOT NULL AND bill_fen IS NULL))
);
CREATE INDEX reconciliation_entries_community_idx ON reconciliation_entries (community_id, day);
CREATE INDEX reconciliation_entries_open_idx ON reconciliation_entries (mchid, day) WHERE outcome <> 'matched';

CREATE FUNCTION reconciliation_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reconciliation entries are replaced by a re-run, never updated'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER reconciliation_entries_immutable BEFORE UPDATE ON reconciliation_entries
    FOR EACH ROW EXECUTE FUNCTION reconciliation_entries_immutable();

-- The last run of each bill day, with its counts over every community.
CREATE TABLE reconciliation_runs (
    mchid            text NOT NULL,
    day              date NOT NULL,
    bill_sha1        text NOT NULL,
    checked_at       timestamptz NOT NULL,
    runs             integer NOT NULL DEFAULT 1 CHECK (runs > 0),
    matched          integer NOT NULL CHECK (matched >= 0),
    missing_ours     integer NOT NULL CHECK (missing_ours >= 0),
    missing_wechat   integer NOT NULL CHECK (missing_wechat >= 0),
    amount_mismatch  integer NOT NULL CHECK (amount_mismatch >= 0),
    PRIMARY KEY (mchid, day),
    FOREIGN KEY (mchid, day) REFERENCES trade_bills (mchid, day) ON DELETE CASCADE
);

-- Finance's note on a finding, one per community: a finding no community owns is seen by
-- the finance of every community taking payments on that merchant account, and each
-- notes it for itself. Not tied to an entry row, since
-- a re-run replaces those; every change is in audit_log.
CREATE TABLE reconciliation_resolutions (
    mchid         text NOT NULL,
    day           date NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('payment', 'refund')),
    ref           text NOT NULL,
    community_id  bigint NOT NULL REFERENCES communities (id),
    note          text NOT NULL CHECK (length(note) BETWEEN 1 AND 500),
    noted_by      bigint NOT NULL,  -- staff id
    noted_by_name text NOT NULL,
    noted_at      timestamptz NOT NULL,
    PRIMARY KEY (mchid, day, kind, ref, community_id)
);

-- What a run reads, by merchant and time.
CREATE INDEX payments_mchid_success_idx ON payments (mchid, success_time);
CREATE INDEX payments_mchid_created_idx ON payments (mchid, created_at);
CREATE INDEX payments_out_trade_no_idx ON payments (out_trade_no);
CREATE INDEX payments_community_mchid_idx ON payments (community_id, mchid);
CREATE INDEX refunds_settled_idx ON refunds (settled_at) WHERE settled_at IS NOT NULL;
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
