-- Network kitchen ticket printers (ESC/POS over TCP) and the print jobs that send each
-- ticket to them: one job per ticket × printer × print generation (0 the first print,
-- n the nth reprint), printed at most once.

-- A station printer prints only its station's lines; this key lets a printer name a
-- station of its own canteen.
ALTER TABLE kitchen_stations ADD CONSTRAINT kitchen_stations_canteen_id_key UNIQUE (canteen_id, id);

-- status is what the last print said: unknown until the first print after the printer was
-- added or its address changed, then ok or down.
CREATE TABLE kitchen_printers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id    bigint NOT NULL,
    canteen_id      bigint NOT NULL,
    station_id      bigint,  -- NULL: prints whole tickets
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    address         text NOT NULL CHECK (length(address) BETWEEN 3 AND 260),  -- host:port
    enabled         boolean NOT NULL DEFAULT true,
    status          text NOT NULL DEFAULT 'unknown' CHECK (status IN ('ok', 'down', 'unknown')),
    last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 500),
    last_ok_at      timestamptz,
    last_failed_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT kitchen_printers_name_key UNIQUE (canteen_id, name),
    CONSTRAINT kitchen_printers_community_id_key UNIQUE (community_id, id),
    CONSTRAINT kitchen_printers_canteen_fkey FOREIGN KEY (community_id, canteen_id) REFERENCES canteens (community_id, id) ON DELETE CASCADE,
    CONSTRAINT kitchen_printers_station_fkey FOREIGN KEY (canteen_id, station_id) REFERENCES kitchen_stations (canteen_id, id)
);
CREATE INDEX kitchen_printers_canteen_idx ON kitchen_printers (community_id, canteen_id, id);

-- Written with the ticket (generation 0) or its reprint (generation n) for every enabled
-- printer that has lines of it to print. claimed_until keeps two runs of the print task
-- from sending one job at once; printed_at ends the job.
CREATE TABLE print_jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id    bigint NOT NULL,
    ticket_id       bigint NOT NULL,
    printer_id      bigint NOT NULL,
    generation      integer NOT NULL CHECK (generation >= 0),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 500),
    last_attempt_at timestamptz,
    claimed_until   timestamptz,
    printed_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT print_jobs_once_key UNIQUE (ticket_id, printer_id, generation),
    FOREIGN KEY (community_id, ticket_id) REFERENCES tickets (community_id, id) ON DELETE CASCADE,
    FOREIGN KEY (community_id, printer_id) REFERENCES kitchen_printers (community_id, id) ON DELETE CASCADE
);
CREATE INDEX print_jobs_unprinted_idx ON print_jobs (printer_id, ticket_id) WHERE printed_at IS NULL;
