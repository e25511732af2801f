//! DESIGN invariant 2, checked on PostgreSQL's catalogue: every tenant table
//! carries `org_id`, and its primary key and every unique and exclusion
//! constraint include it — so the schema can be distributed by organisation.

use std::sync::Arc;

use circles_domain::clock::SystemClock;
use circles_testkit::{Backend, TestDatabase};
use sqlx::{Connection, PgConnection, Row};

/// Tables that are deliberately global: logins and platform bookkeeping;
/// a person's notification choices (and the links that unsubscribe them)
/// and the e-mail owed to an account (password resets, invitations to join)
/// belong to their account, in every clinic.
const GLOBAL_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "account_mail",
    "accounts",
    "api_tokens",
    "calendar_feeds",
    "idempotency_keys",
    "notification_preferences",
    "notification_settings",
    "organisations",
    "unsubscribe_links",
];

#[tokio::test]
async fn every_tenant_key_and_constraint_includes_org_id() {
    let db = TestDatabase::create(Backend::Postgres).await;
    drop(db.store(Arc::new(SystemClock)).await);
    let mut conn = PgConnection::connect(&db.url).await.unwrap();

    let tables: Vec<(String, bool)> = sqlx::query(
        "SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert!(tables.len() > GLOBAL_TABLES.len(), "the schema has tenant tables: {tables:?}");
    for (table, has_org) in &tables {
        if GLOBAL_TABLES.contains(&table.as_str()) {
            continue;
        }
        assert!(has_org, "tenant table {table} has no org_id column");
    }

    let constraints = sqlx::query(
        "SELECT t.relname, con.conname, con.contype::text, \
                EXISTS (SELECT 1 FROM unnest(con.conkey) k JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k \
                        WHERE a.attname = 'org_id') \
         FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'x')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut checked = 0;
    for row in &constraints {
        let (table, name, kind, has_org): (String, String, String, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if GLOBAL_TABLES.contains(&table.as_str()) {
            continue;
        }
        assert!(has_org, "{kind} constraint {name} on {table} does not include org_id");
        checked += 1;
    }
    assert!(checked >= tables.len() - GLOBAL_TABLES.len(), "every tenant table has at least its primary key checked");

    // Unique indexes made outside constraints count too.
    let indexes = sqlx::query(
        "SELECT t.relname, i.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix \
         JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public' AND ix.indisunique",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for row in &indexes {
        let (table, index, definition): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        if GLOBAL_TABLES.contains(&table.as_str()) {
            continue;
        }
        assert!(definition.contains("org_id"), "unique index {index} on {table} does not include org_id: {definition}");
    }
}
