DROP TABLE outbox;
DROP TABLE order_claims;
DROP TABLE limit_usage;
DROP TABLE order_subsidies;
DROP TABLE order_lines;
DROP TABLE orders;
