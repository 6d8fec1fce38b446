ALTER TABLE orders DROP COLUMN ready_notified_at, DROP COLUMN notify_ready;
