//! Does every statement route to one organisation? On a database sharded by
//! `org_id` (Citus), a statement that pins `org_id` with an equality on every
//! tenant table it touches runs on one shard; one that does not fans out to
//! all of them, or cannot join its tables at all. This checks the SQL text the
//! store really ran (see `SqlStore::logging_statements`) and names every
//! statement that would not route.
//!
//! A tenant table is one with an `org_id` column. A statement deliberately
//! spanning organisations (a person's schedule across clinics, a job that
//! sweeps every clinic) says so in a comment containing
//! [`SPANS_ORGANISATIONS`], and is reported apart rather than refused.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Delete, Expr, FromTable, Insert, JoinConstraint, JoinOperator, ObjectName, Select, Statement,
    TableFactor, TableObject, TableWithJoins, Update, UpdateTableFromKind, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// The words a statement's comment carries when it reads or writes several
/// organisations on purpose.
pub const SPANS_ORGANISATIONS: &str = "spans organisations";

/// The result of checking a set of statements.
#[derive(Debug, Default)]
pub struct ShardReport {
    /// Statements that would not route to one shard, each with the reason.
    pub violations: Vec<String>,
    /// Statements that declare they span organisations.
    pub spanning: Vec<String>,
}

/// Checks `statements` (PostgreSQL text) against the tables that have an
/// `org_id` column.
pub fn check<'a>(statements: impl IntoIterator<Item = &'a str>, tenant_tables: &BTreeSet<String>) -> ShardReport {
    let mut report = ShardReport::default();
    for text in statements {
        if text.contains(SPANS_ORGANISATIONS) {
            report.spanning.push(text.to_owned());
            continue;
        }
        let parsed = match Parser::parse_sql(&PostgreSqlDialect {}, text) {
            Ok(parsed) => parsed,
            Err(e) => {
                report.violations.push(format!("{text}\n    could not be parsed: {e}"));
                continue;
            }
        };
        let mut checker = Checker { tenant_tables, problems: Vec::new() };
        for statement in &parsed {
            checker.statement(statement);
            let _ = statement.visit(&mut checker);
        }
        for problem in checker.problems {
            report.violations.push(format!("{text}\n    {problem}"));
        }
    }
    report
}

struct Checker<'t> {
    tenant_tables: &'t BTreeSet<String>,
    problems: Vec<String>,
}

impl Visitor for Checker<'_> {
    type Break = ();

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        let mut scope = Scope::default();
        for from in &select.from {
            self.add_from(&mut scope, from);
        }
        if let Some(selection) = &select.selection {
            scope.conjuncts(selection);
        }
        self.require_pinned(&scope, "SELECT");
        ControlFlow::Continue(())
    }
}

impl Checker<'_> {
    /// Inserts, updates and deletes; their subqueries and `SELECT`s are
    /// visited like any other.
    fn statement(&mut self, statement: &Statement) {
        match statement {
            Statement::Insert(Insert { table: TableObject::TableName(name), columns, .. }) => {
                let table = last_part(name);
                if self.tenant_tables.contains(&table) && !columns.iter().any(|c| last_part(c) == "org_id") {
                    self.problems.push(format!("INSERT INTO {table} does not set org_id"));
                }
            }
            Statement::Update(Update { table, from, selection, .. }) => {
                let mut scope = Scope::default();
                self.add_from(&mut scope, table);
                if let Some(UpdateTableFromKind::AfterSet(tables) | UpdateTableFromKind::BeforeSet(tables)) = from {
                    tables.iter().for_each(|t| self.add_from(&mut scope, t));
                }
                if let Some(selection) = selection {
                    scope.conjuncts(selection);
                }
                self.require_pinned(&scope, "UPDATE");
            }
            Statement::Delete(Delete { from, using, selection, .. }) => {
                let mut scope = Scope::default();
                let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) = from;
                tables.iter().chain(using.iter().flatten()).for_each(|t| self.add_from(&mut scope, t));
                if let Some(selection) = selection {
                    scope.conjuncts(selection);
                }
                self.require_pinned(&scope, "DELETE");
            }
            _ => {}
        }
    }

    fn add_from(&self, scope: &mut Scope, from: &TableWithJoins) {
        self.add_relation(scope, &from.relation);
        for join in &from.joins {
            self.add_relation(scope, &join.relation);
            if let Some(JoinConstraint::On(on)) = join_constraint(&join.join_operator) {
                scope.conjuncts(on);
            }
        }
    }

    fn add_relation(&self, scope: &mut Scope, relation: &TableFactor) {
        // `(VALUES …) AS v`: its columns are values the statement carries.
        if let TableFactor::Derived { subquery, alias: Some(alias), .. } = relation
            && matches!(subquery.body.as_ref(), sqlparser::ast::SetExpr::Values(_))
        {
            scope.values.insert(alias.name.value.to_lowercase());
        }
        if let TableFactor::Table { name, alias, .. } = relation {
            let table = last_part(name);
            let alias = alias.as_ref().map_or_else(|| table.clone(), |a| a.name.value.to_lowercase());
            scope.names.insert(alias.clone());
            if self.tenant_tables.contains(&table) {
                scope.tenants.push((alias, table));
            }
        }
    }

    fn require_pinned(&mut self, scope: &Scope, verb: &str) {
        for (alias, table) in scope.unpinned() {
            self.problems.push(format!("{verb} reads {table} (as {alias}) without `org_id = …`"));
        }
    }
}

/// The tables of one `SELECT` (or `UPDATE`/`DELETE`) and the equalities its
/// `WHERE` and `ON` clauses require of every row.
#[derive(Default)]
struct Scope {
    /// Every relation's name or alias, tenant or not.
    names: BTreeSet<String>,
    /// (alias, table) of the tenant tables.
    tenants: Vec<(String, String)>,
    /// `alias.org_id = <not a column>`: the aliases pinned outright
    /// (`None` for an unqualified `org_id`).
    pinned: Vec<Option<String>>,
    /// `a.org_id = b.org_id`: pinned together.
    joined: Vec<(String, String)>,
    /// Aliases of `VALUES` lists, whose columns are values, not rows.
    values: BTreeSet<String>,
}

impl Scope {
    /// Records the equalities of the `AND`-ed terms of `expr`; a term under
    /// `OR` or `NOT` constrains nothing for certain.
    fn conjuncts(&mut self, expr: &Expr) {
        match expr {
            Expr::Nested(inner) => self.conjuncts(inner),
            Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
                self.conjuncts(left);
                self.conjuncts(right);
            }
            // `(t.org_id, t.id) IN (($1, $2), …)`: the rows of the organisations
            // listed, a shard each (pruned, not fanned out to every shard).
            Expr::In { expr, target: sqlparser::ast::InTarget::List(list), negated: false, .. }
                if list.iter().all(|item| !self.is_column(item))
                    && matches!(expr.as_ref(), Expr::Tuple(parts) if parts.iter().any(|p| org_id_of(p).is_some())) =>
            {
                if let Expr::Tuple(parts) = expr.as_ref() {
                    self.pinned.extend(parts.iter().filter_map(org_id_of));
                }
            }
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => match (org_id_of(left), org_id_of(right)) {
                (Some(a), Some(b)) => {
                    if let (Some(a), Some(b)) = (a, b) {
                        self.joined.push((a, b));
                    }
                }
                (Some(a), None) if !self.is_column(right) => self.pinned.push(a),
                (None, Some(b)) if !self.is_column(left) => self.pinned.push(b),
                _ => {}
            },
            _ => {}
        }
    }

    /// A column of a table, not of a `VALUES` list.
    fn is_column(&self, expr: &Expr) -> bool {
        match expr {
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                !self.values.contains(&parts[0].value.to_lowercase())
            }
            _ => is_column(expr),
        }
    }

    fn unpinned(&self) -> Vec<(String, String)> {
        let mut pinned: BTreeSet<String> = BTreeSet::new();
        for alias in &self.pinned {
            match alias {
                Some(alias) => {
                    pinned.insert(alias.clone());
                }
                // Unqualified, so unambiguous: only one tenant table is here.
                None => pinned.extend(self.tenants.iter().map(|(alias, _)| alias.clone())),
            }
        }
        // An alias from an enclosing query is checked where it is defined.
        for (a, b) in &self.joined {
            for outer in [a, b] {
                if !self.names.contains(outer) {
                    pinned.insert(outer.clone());
                }
            }
        }
        let mut grew = true;
        while grew {
            grew = false;
            for (a, b) in &self.joined {
                if pinned.contains(a) != pinned.contains(b) {
                    pinned.insert(a.clone());
                    pinned.insert(b.clone());
                    grew = true;
                }
            }
        }
        self.tenants.iter().filter(|(alias, _)| !pinned.contains(alias)).cloned().collect()
    }
}

/// `Some(Some(alias))` for `alias.org_id`, `Some(None)` for a bare `org_id`.
fn org_id_of(expr: &Expr) -> Option<Option<String>> {
    match expr {
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => org_id_of(inner),
        Expr::Identifier(ident) if ident.value.eq_ignore_ascii_case("org_id") => Some(None),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 && parts[1].value.eq_ignore_ascii_case("org_id") => {
            Some(Some(parts[0].value.to_lowercase()))
        }
        _ => None,
    }
}

fn is_column(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => is_column(inner),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        _ => false,
    }
}

fn join_constraint(operator: &JoinOperator) -> Option<&JoinConstraint> {
    match operator {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c) => Some(c),
        _ => None,
    }
}

fn last_part(name: &ObjectName) -> String {
    name.0.last().and_then(|part| part.as_ident()).map(|ident| ident.value.to_lowercase()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants() -> BTreeSet<String> {
        ["sessions", "seats", "people"].into_iter().map(String::from).collect()
    }

    fn violations(sql: &str) -> Vec<String> {
        check([sql], &tenants()).violations
    }

    #[test]
    fn a_pinned_read_routes() {
        assert!(violations("SELECT id FROM sessions WHERE org_id = $1 AND id = $2").is_empty());
        assert!(violations("SELECT s.id FROM sessions s WHERE s.org_id = $1::uuid").is_empty());
    }

    #[test]
    fn a_read_without_org_id_does_not() {
        let found = violations("SELECT id FROM sessions WHERE id = $1");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("sessions"), "{found:?}");
    }

    #[test]
    fn an_equality_under_or_pins_nothing() {
        assert_eq!(violations("SELECT id FROM sessions WHERE org_id = $1 OR id = $2").len(), 1);
    }

    #[test]
    fn a_join_routes_when_it_joins_on_org_id() {
        let colocated = "SELECT s.id FROM sessions s JOIN seats t ON t.org_id = s.org_id AND t.session_id = s.id \
                         WHERE s.org_id = $1";
        assert!(violations(colocated).is_empty());
        let not = "SELECT s.id FROM sessions s JOIN seats t ON t.session_id = s.id WHERE s.org_id = $1";
        assert_eq!(violations(not).len(), 1);
    }

    #[test]
    fn subqueries_are_checked_on_their_own_and_may_correlate() {
        let correlated = "SELECT s.id, (SELECT count(*) FROM seats t WHERE t.org_id = s.org_id AND t.session_id = s.id) \
                          FROM sessions s WHERE s.org_id = $1";
        assert!(violations(correlated).is_empty());
        let loose = "SELECT id FROM sessions WHERE org_id = $1 AND id IN (SELECT session_id FROM seats WHERE id = $2)";
        assert_eq!(violations(loose).len(), 1);
    }

    #[test]
    fn writes_name_their_organisation() {
        assert!(violations("INSERT INTO seats (org_id, id) VALUES ($1, $2) ON CONFLICT DO NOTHING").is_empty());
        assert_eq!(violations("INSERT INTO seats (id) VALUES ($1)").len(), 1);
        assert!(violations("UPDATE seats SET status = $1 WHERE org_id = $2 AND id = $3").is_empty());
        assert_eq!(violations("UPDATE seats SET status = $1 WHERE id = $3").len(), 1);
        assert!(violations("DELETE FROM seats WHERE org_id = $1 AND id = $2").is_empty());
        assert_eq!(violations("DELETE FROM seats WHERE id = $2").len(), 1);
    }

    #[test]
    fn ctes_and_global_tables() {
        let cte = "WITH mine AS (SELECT id FROM seats WHERE org_id = $1) SELECT id FROM mine";
        assert!(violations(cte).is_empty());
        assert!(violations("SELECT id FROM accounts WHERE email = $1").is_empty());
    }

    #[test]
    fn a_join_on_values_the_statement_carries_routes() {
        let insert = "INSERT INTO seats (org_id, id) SELECT v.column1, v.column2 FROM (VALUES ($1, $2)) AS v \
                      JOIN people pe ON pe.org_id = v.column1 AND pe.id = v.column2";
        assert!(violations(insert).is_empty());
    }

    #[test]
    fn a_list_of_organisation_keys_prunes_to_their_shards() {
        assert!(
            violations("UPDATE seats SET status = $1 WHERE (seats.org_id, seats.id) IN (($2, $3), ($4, $5))")
                .is_empty()
        );
        assert_eq!(
            violations("UPDATE seats SET status = $1 WHERE (seats.id, seats.session_id) IN (($2, $3))").len(),
            1
        );
    }

    #[test]
    fn declared_spanning_statements_are_reported_apart() {
        let report = check(["SELECT id FROM seats /* spans organisations: the sweeper */ WHERE id = $1"], &tenants());
        assert!(report.violations.is_empty());
        assert_eq!(report.spanning.len(), 1);
    }
}
