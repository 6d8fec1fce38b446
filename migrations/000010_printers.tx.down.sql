DROP TABLE print_jobs;
DROP TABLE kitchen_printers;
ALTER TABLE kitchen_stations DROP CONSTRAINT kitchen_stations_canteen_id_key;
