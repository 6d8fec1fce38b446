-- WeChat Pay's daily trade bills (交易账单, bill_type ALL): the file as downloaded and its
-- parsed lines, one bill per merchant and Asia/Shanghai day. A bill has no community_id:
-- one merchant account may take payments for several communities, and the file does not
-- say which. Reconciliation finds the community through out_trade_no (payment_intents,
-- payments) and out_refund_no (refunds), which are unique across communities.
-- Amounts are fen; fees are 1/1000 fen (WeChat writes them with 5 decimals of yuan).

CREATE TABLE trade_bills (
    mchid                 text NOT NULL,
    day                   date NOT NULL,      -- Asia/Shanghai
    -- The file as downloaded; empty when WeChat had none (NO_STATEMENT_EXIST: no trades).
    raw                   bytea NOT NULL,
    sha1                  text NOT NULL CHECK (sha1 ~ '^[0-9a-f]{40}$'), -- of raw, checked against WeChat's
    row_count             integer NOT NULL CHECK (row_count >= 0),      -- 总交易单数
    amount_fen            bigint NOT NULL CHECK (amount_fen >= 0),      -- 订单总金额
    settlement_fen        bigint NOT NULL CHECK (settlement_fen >= 0),  -- 应结订单总金额
    refund_fen            bigint NOT NULL CHECK (refund_fen >= 0),      -- 退款总金额
    requested_refund_fen  bigint NOT NULL CHECK (requested_refund_fen >= 0), -- 申请退款总金额
    fee_milli_fen         bigint NOT NULL,                              -- 手续费总金额
    fetched_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mchid, day),
    CHECK (length(raw) > 0 OR row_count = 0)
);

CREATE TABLE trade_bill_rows (
    mchid                 text NOT NULL,
    day                   date NOT NULL,
    line_no               integer NOT NULL CHECK (line_no > 0),  -- 1 for the first trade of the file
    trade_time            timestamptz NOT NULL,
    appid                 text NOT NULL,
    transaction_id        text NOT NULL,
    out_trade_no          text NOT NULL,
    trade_state           text NOT NULL,      -- SUCCESS: a payment; REFUND: a refund
    amount_fen            bigint NOT NULL CHECK (amount_fen >= 0),           -- 订单金额; 0 on refunds
    settlement_fen        bigint NOT NULL CHECK (settlement_fen >= 0),       -- 应结订单金额; 0 on refunds
    refund_id             text,               -- NULL on payments
    out_refund_no         text,               -- NULL on payments
    refund_fen            bigint NOT NULL CHECK (refund_fen >= 0),           -- 退款金额
    requested_refund_fen  bigint NOT NULL CHECK (requested_refund_fen >= 0), -- 申请退款金额
    refund_state          text,               -- SUCCESS, PROCESSING, …; NULL on payments
    fee_milli_fen         bigint NOT NULL,    -- 手续费; negative on refunds
    PRIMARY KEY (mchid, day, line_no),
    FOREIGN KEY (mchid, day) REFERENCES trade_bills (mchid, day) ON DELETE CASCADE
);
CREATE INDEX trade_bill_rows_out_trade_no_idx ON trade_bill_rows (out_trade_no);
CREATE INDEX trade_bill_rows_out_refund_no_idx ON trade_bill_rows (out_refund_no) WHERE out_refund_no IS NOT NULL;

-- A stored bill never changes: a different file for the same day is a conflict for staff,
-- who may delete the day (its rows go with it) and fetch it again.
CREATE FUNCTION trade_bills_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never updated', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER trade_bills_immutable BEFORE UPDATE ON trade_bills
    FOR EACH ROW EXECUTE FUNCTION trade_bills_immutable();
CREATE TRIGGER trade_bill_rows_immutable BEFORE UPDATE ON trade_bill_rows
    FOR EACH ROW EXECUTE FUNCTION trade_bills_immutable();
