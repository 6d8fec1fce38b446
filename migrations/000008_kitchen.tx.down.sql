DROP INDEX orders_paid_idx;
DROP TABLE ticket_events;
DROP FUNCTION ticket_events_append_only();
DROP TABLE ticket_lines;
DROP TABLE tickets;
DROP TABLE pickup_counters;
DROP TABLE kitchen_stations;
