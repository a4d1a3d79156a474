# shellcheck shell=bash
# The demos' Liferay-shaped PostgreSQL database, sourced by hack/demo-dump.sh and
# hack/demo-store.sh after tmp/local/env: the database lportal_retail_prd seeded from
# hack/demo-liferay.sql, the empty lportal_restored a dump is restored into, the Secret
# naming the first, and a per-table comparison of the two. Needs $state, $ns, kubectl
# and fail from the sourcing script.

psql_bin="$(command -v psql || ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)"
sock="${POSTGRES_STATE_DIR:-$state/postgres}/sock" # hack/local-env.sh keeps PostgreSQL there
# The superuser over the server's own socket (trusted there) creates the databases; the
# dump and the restore connect over TCP as the history database's user, who owns them.
as_super() { "$psql_bin" -h "$sock" -p "$DB_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q "$@"; }
as_user() { PGPASSWORD="$DB_PASSWORD" "$psql_bin" -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -v ON_ERROR_STOP=1 -q "$@"; }

# demo_db_seed creates both databases afresh, seeds the source and writes the Secret
# retail-prd-db in $ns naming it.
demo_db_seed() {
  as_super -c "DROP DATABASE IF EXISTS lportal_retail_prd" -c "DROP DATABASE IF EXISTS lportal_restored" \
    -c "CREATE DATABASE lportal_retail_prd OWNER $DB_USER" -c "CREATE DATABASE lportal_restored OWNER $DB_USER" ||
    fail "could not create the databases (superuser over $sock)"
  as_user -d lportal_retail_prd -f hack/demo-liferay.sql || fail "could not seed lportal_retail_prd"
  kubectl -n "$ns" delete secret retail-prd-db --ignore-not-found >/dev/null
  kubectl -n "$ns" create secret generic retail-prd-db --from-literal=engine=postgres --from-literal=host="$DB_HOST" \
    --from-literal=port="$DB_PORT" --from-literal=database=lportal_retail_prd --from-literal=user="$DB_USER" \
    --from-literal=password="$DB_PASSWORD" --from-literal=sslmode=disable >/dev/null
  echo "seeded lportal_retail_prd; Secret $ns/retail-prd-db names it"
}

# demo_db_sums prints, per table of database $1, its row count and the md5 of its rows
# in order.
demo_db_sums() {
  as_user -d "$1" -At -c "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1" | while read -r table; do
    printf '%s %s\n' "$table" "$(as_user -d "$1" -At -c "SELECT count(*) || ' ' || md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"$table\" t")"
  done
}

# demo_db_compare fails unless lportal_restored holds every table of lportal_retail_prd
# with the same rows; $1 names the files it writes under $state.
demo_db_compare() {
  demo_db_sums lportal_retail_prd >"$state/$1-source.sums"
  demo_db_sums lportal_restored >"$state/$1-restored.sums"
  cat "$state/$1-restored.sums"
  [[ "$(wc -l <"$state/$1-source.sums")" -ge 6 ]] || fail "the source has fewer tables than seeded"
  diff "$state/$1-source.sums" "$state/$1-restored.sums" || fail "the restored database differs from the source"
}
