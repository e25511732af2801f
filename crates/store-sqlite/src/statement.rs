//! Running one statement of the shared SQL on a rusqlite connection:
//! placeholder rewriting, typed binding, and owned rows read by name.

use std::borrow::Cow;
use std::sync::Arc;

use circles_store::sql::db::{DbError, Query, Row, Value};
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use uuid::Uuid;

use crate::map_err;

/// Rewrites the shared SQL's `$N` placeholders to SQLite's `?N`.
///
/// SQLite reads `$1` as a *named* parameter and numbers named parameters in
/// order of first appearance, so `… $2 … $1 …` would bind the arguments the
/// wrong way round; `?N` always means argument N. Quoted text (string
/// literals and quoted identifiers) is copied untouched.
pub(crate) fn sqlite_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut rewritten = String::with_capacity(sql.len());
    let mut open_quote = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match open_quote {
            // A doubled quote inside a literal closes and reopens it: same result.
            Some(quote) if c == quote => open_quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => open_quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                rewritten.push('?');
                continue;
            }
            None => {}
        }
        rewritten.push(c);
    }
    Cow::Owned(rewritten)
}

/// The storage form of each parameter type; see the crate documentation.
fn to_sqlite(value: Value) -> SqlValue {
    match value {
        Value::Bool(v) => v.map_or(SqlValue::Null, |b| SqlValue::Integer(b.into())),
        Value::Int(v) => v.map_or(SqlValue::Null, SqlValue::Integer),
        Value::Float(v) => v.map_or(SqlValue::Null, SqlValue::Real),
        Value::Text(v) => v.map_or(SqlValue::Null, SqlValue::Text),
        Value::Bytes(v) => v.map_or(SqlValue::Null, SqlValue::Blob),
        Value::Uuid(v) => v.map_or(SqlValue::Null, |u| SqlValue::Text(u.hyphenated().to_string())),
        Value::Time(v) => v.map_or(SqlValue::Null, |t| SqlValue::Integer(t.as_microsecond())),
        Value::Date(v) => v.map_or(SqlValue::Null, |d| SqlValue::Text(d.to_string())),
    }
}

/// Takes the statement from the connection's cache and binds `q`'s arguments.
fn prepare(conn: &Connection, q: Query) -> Result<rusqlite::CachedStatement<'_>, DbError> {
    let mut statement = conn.prepare_cached(&sqlite_placeholders(&q.sql)).map_err(map_err)?;
    if statement.parameter_count() != q.args.len() {
        return Err(DbError::Other(format!(
            "{} arguments for {} parameters in: {}",
            q.args.len(),
            statement.parameter_count(),
            q.sql
        )));
    }
    for (index, arg) in q.args.into_iter().enumerate() {
        statement.raw_bind_parameter(index + 1, to_sqlite(arg)).map_err(map_err)?;
    }
    Ok(statement)
}

/// Runs `q` to completion (any rows it returns are discarded) and returns the
/// number of rows it changed.
pub(crate) fn execute(conn: &Connection, q: Query) -> Result<u64, DbError> {
    let mut statement = prepare(conn, q)?;
    let mut rows = statement.raw_query();
    while rows.next().map_err(map_err)?.is_some() {}
    drop(rows);
    // `changes()` still holds the count of the last INSERT, UPDATE or DELETE.
    Ok(if statement.readonly() { 0 } else { conn.changes() })
}

/// Runs `q` and returns up to `limit` rows. Stopping early is safe for
/// `… RETURNING`: SQLite makes all of a statement's changes on its first step.
pub(crate) fn fetch(conn: &Connection, q: Query, limit: usize) -> Result<Vec<SqliteRecord>, DbError> {
    let mut statement = prepare(conn, q)?;
    let mut rows = statement.raw_query();
    let mut records = Vec::new();
    let mut columns: Option<Arc<[String]>> = None;
    while records.len() < limit {
        let Some(row) = rows.next().map_err(map_err)? else { break };
        // Named after the first step, which is when SQLite settles them.
        let columns = columns
            .get_or_insert_with(|| {
                row.as_ref().column_names().into_iter().map(str::to_owned).collect::<Vec<_>>().into()
            })
            .clone();
        let values = (0..columns.len()).map(|i| row.get::<_, SqlValue>(i)).collect::<Result<_, _>>();
        records.push(SqliteRecord { columns, values: values.map_err(map_err)? });
    }
    Ok(records)
}

/// One result row, owned, so it outlives the statement and the connection.
#[derive(Debug, Clone)]
pub struct SqliteRecord {
    columns: Arc<[String]>,
    values: Vec<SqlValue>,
}

impl SqliteRecord {
    /// The value of `col` converted by `convert`, or `None` for NULL.
    fn get<'a, T>(
        &'a self,
        col: &str,
        convert: impl FnOnce(&'a SqlValue) -> Result<T, String>,
    ) -> Result<Option<T>, DbError> {
        let index = self
            .columns
            .iter()
            .position(|c| c == col)
            .ok_or_else(|| DbError::Decode(format!("{col}: no such column in the row")))?;
        match &self.values[index] {
            SqlValue::Null => Ok(None),
            value => convert(value).map(Some).map_err(|e| DbError::Decode(format!("{col}: {e}"))),
        }
    }
}

fn required<T>(col: &str, value: Result<Option<T>, DbError>) -> Result<T, DbError> {
    value?.ok_or_else(|| DbError::Decode(format!("{col} is null")))
}

fn unexpected(value: &SqlValue) -> String {
    format!("unexpected {} value", value.data_type())
}

fn integer(value: &SqlValue) -> Result<i64, String> {
    match value {
        SqlValue::Integer(i) => Ok(*i),
        other => Err(unexpected(other)),
    }
}

fn text(value: &SqlValue) -> Result<&str, String> {
    match value {
        SqlValue::Text(t) => Ok(t),
        other => Err(unexpected(other)),
    }
}

impl Row for SqliteRecord {
    fn bool(&self, col: &str) -> Result<bool, DbError> {
        required(col, self.get(col, |v| integer(v).map(|i| i != 0)))
    }
    fn int(&self, col: &str) -> Result<i64, DbError> {
        required(col, self.opt_int(col))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, DbError> {
        self.get(col, integer)
    }
    fn float(&self, col: &str) -> Result<f64, DbError> {
        // SQLite hands back a whole-number result of arithmetic as INTEGER.
        let real = |v: &SqlValue| match v {
            SqlValue::Real(r) => Ok(*r),
            SqlValue::Integer(i) => Ok(*i as f64),
            other => Err(unexpected(other)),
        };
        required(col, self.get(col, real))
    }
    fn text(&self, col: &str) -> Result<String, DbError> {
        required(col, self.opt_text(col))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, DbError> {
        self.get(col, |v| text(v).map(str::to_owned))
    }
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, DbError> {
        self.get(col, |v| match v {
            SqlValue::Blob(b) => Ok(b.clone()),
            other => Err(unexpected(other)),
        })
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, DbError> {
        self.get(col, |v| Uuid::parse_str(text(v)?).map_err(|e| e.to_string()))
    }
    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>, DbError> {
        self.get(col, |v| Timestamp::from_microsecond(integer(v)?).map_err(|e| e.to_string()))
    }
    fn opt_date(&self, col: &str) -> Result<Option<Date>, DbError> {
        self.get(col, |v| text(v)?.parse::<Date>().map_err(|e| e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_placeholders;

    #[test]
    fn placeholders_become_exact_indexes_outside_quotes() {
        assert_eq!(sqlite_placeholders("SELECT $2, $1, $2, $10"), "SELECT ?2, ?1, ?2, ?10");
        assert_eq!(sqlite_placeholders("SELECT '$1', 'it''s $2', $3, \"$4\""), "SELECT '$1', 'it''s $2', ?3, \"$4\"");
        assert_eq!(sqlite_placeholders("SELECT '$' || $1, $x"), "SELECT '$' || ?1, $x");
        assert_eq!(sqlite_placeholders("SELECT 1"), "SELECT 1");
    }
}
