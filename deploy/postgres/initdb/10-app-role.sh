#!/bin/bash
# Run once by the postgres image on a new data directory (/docker-entrypoint-initdb.d): the app's own
# role, which may read and write rows but not change the schema. POSTGRES_USER owns the database and
# runs the migrations; every table and sequence it creates from now on is usable by the app role.
# The password comes from a secret file, never from the environment or the compose file.
set -euo pipefail

app_role="${APP_DB_ROLE:?set APP_DB_ROLE to the app role name}"
: "${APP_DB_PASSWORD_FILE:?set APP_DB_PASSWORD_FILE to the file holding its password}"
export APP_DB_PASSWORD_FILE

# psql reads the password from the file itself (\set with backticks), so that it is never on a command
# line another process could list.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_role="$app_role" -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
\set app_password `cat "$APP_DB_PASSWORD_FILE"`
CREATE ROLE :"app_role" LOGIN PASSWORD :'app_password';
GRANT CONNECT ON DATABASE :"db" TO :"app_role";
-- PostgreSQL 15+ no longer lets every role create in the public schema: the app role only uses it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
-- The queue's schema (pg-boss), made here by its owner so that what the migrations create in it later is
-- the app role's to use too: it sends and takes jobs, never changes the queue's tables.
CREATE SCHEMA pgboss AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA pgboss TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA pgboss GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA pgboss GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
SQL
