//! Writes held back by a transaction ([`circles_store::sql::db::Executor::defer`])
//! and sent with its next statement as data-modifying CTEs:
//! `WITH deferred_0 AS (INSERT …), deferred_1 AS (INSERT …) <statement>`.
//!
//! PostgreSQL runs every data-modifying statement in `WITH` exactly once and
//! to completion whether or not the main statement reads it, checks foreign
//! keys at the end of the whole statement (so a row may refer to one
//! inserted beside it), and checks unique and exclusion constraints row by
//! row as always. What the CTEs change is invisible to the rest of the same
//! statement, which is why only a statement that reads none of it may
//! carry them.

use circles_store::sql::db::Query;

/// Parameters one combined statement may carry: PostgreSQL's protocol
/// counts them in 16 bits, so writes beyond this are sent in more than one.
pub const MAX_ARGS: usize = 32_767;

/// `writes` and then `main`, as one statement with the parameters of each
/// renumbered after those before it.
pub fn combine(writes: Vec<Query>, main: Query) -> Query {
    let mut ctes = Vec::with_capacity(writes.len());
    let mut args = Vec::new();
    for (i, write) in writes.into_iter().enumerate() {
        ctes.push(format!("deferred_{i} AS ({})", renumber(&write.sql, args.len())));
        args.extend(write.args);
    }
    let body = renumber(&main.sql, args.len());
    args.extend(main.args);
    let body = body.trim_start();
    let ctes = ctes.join(", ");
    // The main statement's own `WITH` list continues after the deferred ones.
    let sql = match leading_with(body) {
        Some((recursive, rest)) => format!("WITH {recursive}{ctes}, {rest}"),
        None => format!("WITH {ctes} {body}"),
    };
    let mut combined = Query::new(sql);
    combined.args = args;
    combined
}

/// `Some((recursive keyword, rest))` when `body` starts with a `WITH` list.
fn leading_with(body: &str) -> Option<(&'static str, &str)> {
    let keyword = |text: &str, word: &str| {
        text.len() > word.len()
            && text[..word.len()].eq_ignore_ascii_case(word)
            && text[word.len()..].starts_with(char::is_whitespace)
    };
    if !keyword(body, "WITH") {
        return None;
    }
    let rest = body[4..].trim_start();
    if keyword(rest, "RECURSIVE") {
        return Some(("RECURSIVE ", rest[9..].trim_start()));
    }
    Some(("", rest))
}

/// `sql` with every parameter `$n` outside quotes made `$(n + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            // A doubled quote inside a literal closes and reopens it: same result.
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut number = 0usize;
                while let Some(digit) = chars.peek().and_then(|d| d.to_digit(10)) {
                    number = number * 10 + digit as usize;
                    chars.next();
                }
                out.push('$');
                out.push_str(&(number + offset).to_string());
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use circles_store::sql::db::sql;

    #[test]
    fn parameters_are_renumbered_after_the_writes_before_them() {
        let combined = combine(
            vec![
                sql("INSERT INTO a (x, y) VALUES ($1, $2)").bind(1i64).bind(2i64),
                sql("INSERT INTO b (x) VALUES ($1), ($1)").bind(3i64),
            ],
            sql("SELECT id FROM c WHERE org_id = $1 AND n > $2").bind(4i64).bind(5i64),
        );
        assert_eq!(
            combined.sql,
            "WITH deferred_0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), deferred_1 AS (INSERT INTO b (x) VALUES ($3), ($3)) \
             SELECT id FROM c WHERE org_id = $4 AND n > $5"
        );
        assert_eq!(combined.args.len(), 5);
    }

    #[test]
    fn quoted_dollars_are_left_alone() {
        assert_eq!(
            renumber("SELECT '$1', \"$2\", $1 FROM t WHERE x = 'it''s $3'", 10),
            "SELECT '$1', \"$2\", $11 FROM t WHERE x = 'it''s $3'"
        );
    }

    #[test]
    fn a_main_statement_with_its_own_with_list_continues_it() {
        let combined = combine(
            vec![sql("INSERT INTO a VALUES ($1)").bind(1i64)],
            sql("with recursive r AS (SELECT $1) SELECT * FROM r").bind(2i64),
        );
        assert_eq!(
            combined.sql,
            "WITH RECURSIVE deferred_0 AS (INSERT INTO a VALUES ($1)), r AS (SELECT $2) SELECT * FROM r"
        );
        let plain = combine(vec![sql("INSERT INTO a VALUES (1)")], sql("WITH w AS (SELECT 1) SELECT * FROM w"));
        assert_eq!(plain.sql, "WITH deferred_0 AS (INSERT INTO a VALUES (1)), w AS (SELECT 1) SELECT * FROM w");
    }
}
