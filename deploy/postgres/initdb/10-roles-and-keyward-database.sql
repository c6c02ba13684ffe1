-- Run once by the official postgres image, as the superuser, when the postgres service starts on
-- an empty data volume (every *.sql in /docker-entrypoint-initdb.d, in name order, with
-- ON_ERROR_STOP). It does not run again on later starts: to change a password afterwards use
-- ALTER ROLE, then update the .env file.
--
-- It creates:
--   * role temporal (LOGIN, CREATEDB). Temporal's auto-setup image logs in with it and creates and
--     migrates its own databases, temporal and temporal_visibility, which it then owns;
--   * role keyward and database keyward, owned by it: keyward's system of record. Only keyward
--     (and the superuser) may connect to it.
--
-- The passwords are read from the container's environment with psql's \getenv and quoted by psql,
-- so none is written here. docker-compose.yml passes them in from required variables.

\getenv temporal_password TEMPORAL_DB_PASSWORD
\getenv keyward_password KEYWARD_DB_PASSWORD

\if :{?temporal_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'TEMPORAL_DB_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?keyward_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'KEYWARD_DB_PASSWORD is not set in the postgres container'; END $$;
\endif

CREATE ROLE temporal WITH LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE keyward WITH LOGIN PASSWORD :'keyward_password';

CREATE DATABASE keyward OWNER keyward;
REVOKE ALL ON DATABASE keyward FROM PUBLIC;

-- Inside keyward's database only its owner creates objects (the default since PostgreSQL 15;
-- stated here so an older major version behaves the same).
\connect keyward
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO keyward;
