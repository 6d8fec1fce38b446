-- WeChat Pay: one out_trade_no per payable amount of an order, the payments WeChat
-- reports (at most one per transaction_id), and refunds.

CREATE TABLE payment_intents (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id     bigint NOT NULL,
    order_id         bigint NOT NULL,
    out_trade_no     text NOT NULL UNIQUE CHECK (length(out_trade_no) BETWEEN 6 AND 32),
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    payer_openid     text NOT NULL,
    prepay_id        text NOT NULL DEFAULT '',
    expires_at       timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'closed')),
    last_queried_at  timestamptz,
    queries          integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, order_id) REFERENCES orders (community_id, id)
);
CREATE UNIQUE INDEX payment_intents_one_open ON payment_intents (order_id) WHERE status = 'open';
CREATE INDEX payment_intents_open_idx ON payment_intents (created_at) WHERE status = 'open';

CREATE TABLE payments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id    bigint NOT NULL,
    order_id        bigint NOT NULL,
    intent_id       bigint NOT NULL REFERENCES payment_intents (id),
    transaction_id  text NOT NULL,
    out_trade_no    text NOT NULL,
    amount_fen      bigint NOT NULL,
    payer_openid    text NOT NULL DEFAULT '',
    mchid           text NOT NULL,
    appid           text NOT NULL,
    success_time    timestamptz,
    source          text NOT NULL CHECK (source IN ('notification', 'query')),
    -- credited: the order is paid by it; flagged: it does not match the order and waits for
    -- staff; refund_due: it arrived for an order already cancelled or expired.
    outcome         text NOT NULL CHECK (outcome IN ('credited', 'flagged', 'refund_due')),
    flag_reason     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_transaction_id_key UNIQUE (transaction_id),
    FOREIGN KEY (community_id, order_id) REFERENCES orders (community_id, id)
);
CREATE INDEX payments_order_idx ON payments (order_id);

CREATE TABLE refunds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id    bigint NOT NULL,
    order_id        bigint NOT NULL,
    payment_id      bigint NOT NULL REFERENCES payments (id),
    out_refund_no   text NOT NULL UNIQUE CHECK (length(out_refund_no) BETWEEN 6 AND 64),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    reason          text NOT NULL,
    requested_by    text NOT NULL,
    -- order: a refund of (part of) a paid order, reversing its subsidy in proportion;
    -- return: money that arrived for an order no longer awaiting it, sent straight back.
    kind            text NOT NULL DEFAULT 'order' CHECK (kind IN ('order', 'return')),
    lines           jsonb NOT NULL DEFAULT '[]',
    status          text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'processing', 'success', 'closed', 'abnormal')),
    refund_id       text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,
    FOREIGN KEY (community_id, order_id) REFERENCES orders (community_id, id)
);
CREATE INDEX refunds_open_idx ON refunds (created_at) WHERE status IN ('requested', 'processing');
