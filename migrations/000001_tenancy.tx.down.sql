DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE sessions;
DROP TABLE diners;
DROP TABLE staff;
DROP TABLE merchants;
DROP TABLE communities;
