#!/bin/sh
# First start of the database container: the tables' owner, the app's role (owns nothing,
# held to row-level security) and the unscoped role the app takes on in its few cross-practice
# lookups. Runs once, as the image's superuser, from /docker-entrypoint-initdb.d.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$PRACTICE_OWNER_PASSWORD" -v app_password="$PRACTICE_APP_PASSWORD" <<'SQL'
-- The owner runs migrations, and a data migration must see every practice: BYPASSRLS.
CREATE ROLE practice_owner LOGIN BYPASSRLS PASSWORD :'owner_password';
CREATE ROLE practice_app LOGIN PASSWORD :'app_password';
CREATE ROLE practice_unscoped NOLOGIN BYPASSRLS;
GRANT practice_unscoped TO practice_app;
CREATE DATABASE practice OWNER practice_owner;
SQL
