-- A diner who accepted the "meal ready" subscribe message at checkout is told once.
ALTER TABLE orders
    ADD COLUMN notify_ready boolean NOT NULL DEFAULT false,
    ADD COLUMN ready_notified_at timestamptz;
