//! The shape of `src/sql/`: use cases sit on a shared layer and never on
//! each other. Every file under `src/sql/` is read, every `super::…` and
//! `crate::sql::…` path in it resolved to the module file it names, and
//! the resulting graph checked:
//!
//! - a use-case module (and its own sub-modules, e.g. `time_off/notices.rs`)
//!   uses only the shared modules listed in [`SHARED`] and its own parts;
//! - a shared module never uses a use case;
//! - no two module files use each other, however indirectly.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The modules every use case may use, and the only ones. Anything else in
/// `src/sql/` is a use case (one per file, with its private sub-modules in
/// a directory of the same name).
const SHARED: &[(&str, &str)] = &[
    ("db", "the backend seam: statements, rows, locks, multi-row inserts"),
    ("counted", "statement counting wrapped around every transaction"),
    ("rows", "rows several use cases read or write, and the checks they share"),
    ("busy", "every write of busy time"),
    ("notify", "notifications, written with the change that causes them"),
    ("outbox", "the delivery outbox notifications fill"),
    ("event_log", "the live event log, written with the change it reports"),
    ("audit", "the audit trail, written with every change"),
];

type ModPath = Vec<String>;

fn shared(module: &str) -> bool {
    SHARED.iter().any(|(name, _)| *name == module)
}

/// Every `.rs` file below `dir` as (module path, source). `mod.rs` files
/// name their directory.
fn module_files(root: &Path, dir: &Path, out: &mut BTreeMap<ModPath, String>) {
    for entry in fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            module_files(root, &path, out);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("below the root").with_extension("");
        let mut module: ModPath = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if module.last().map(String::as_str) == Some("mod") {
            module.pop();
        }
        out.insert(module, fs::read_to_string(&path).expect("readable source file"));
    }
}

/// The source without comments and without its unit-test module.
fn code_of(source: &str) -> String {
    let body = source.split("#[cfg(test)]").next().unwrap_or_default();
    body.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths a `use`-tree or path starting at `text` names: `a::b`,
/// `a::{b, c::d}` and nested groups, each cut at its last identifier.
fn paths_at(text: &str) -> Vec<ModPath> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if !ident.is_empty() {
            segments.push(ident.clone());
            rest = &rest[ident.len()..];
            match rest.strip_prefix("::") {
                Some(after) => rest = after,
                None => return vec![segments],
            }
        } else if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let inner = &group[..end];
            let mut items = Vec::new();
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&inner[start..]);
            return items
                .iter()
                .map(|item| item.trim())
                .filter(|item| !item.is_empty() && *item != "self")
                .flat_map(paths_at)
                .map(|tail| segments.iter().cloned().chain(tail).collect())
                .collect();
        } else {
            return vec![segments];
        }
    }
}

/// The module files `module`'s code names through `super::` or `crate::sql::`.
fn uses(module: &ModPath, code: &str, modules: &BTreeSet<ModPath>) -> BTreeSet<ModPath> {
    let mut found = BTreeSet::new();
    for (prefix, base) in [("crate::sql::", Vec::new()), ("super::", module[..module.len() - 1].to_vec())] {
        let mut from = 0;
        while let Some(at) = code[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            // `$crate::sql::` in a macro and `x::super::` are not ours to resolve.
            if code[..start].ends_with(|c: char| is_ident(c) || c == ':' || c == '$') {
                continue;
            }
            for path in paths_at(&code[from..]) {
                let mut full = base.clone();
                for segment in path {
                    if segment == "super" {
                        full.pop();
                    } else {
                        full.push(segment);
                    }
                }
                let target = (1..=full.len()).rev().map(|n| full[..n].to_vec()).find(|p| modules.contains(p));
                if let Some(target) = target
                    && &target != module
                {
                    found.insert(target);
                }
            }
        }
    }
    found
}

fn graph() -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sql");
    let mut files = BTreeMap::new();
    module_files(&root, &root, &mut files);
    // The root (`sql/mod.rs`) holds the store and its transaction macros:
    // everyone may use it, and it is not a module anyone depends on here.
    files.remove(&ModPath::new());
    let modules: BTreeSet<ModPath> = files.keys().cloned().collect();
    files.iter().map(|(module, source)| (module.clone(), uses(module, &code_of(source), &modules))).collect()
}

fn show(module: &ModPath) -> String {
    module.join("/")
}

#[test]
fn use_cases_use_only_the_shared_layer_and_shared_modules_no_use_case() {
    let graph = graph();
    let mut wrong = Vec::new();
    for (module, used) in &graph {
        let owner = &module[0];
        for target in used {
            let allowed = if shared(owner) { shared(&target[0]) } else { shared(&target[0]) || target[0] == *owner };
            if !allowed {
                let kind = if shared(owner) { "shared module" } else { "use case" };
                wrong.push(format!("{kind} {} uses {}", show(module), show(target)));
            }
        }
    }
    assert!(graph.len() > 20, "the source tree was found ({} modules)", graph.len());
    assert!(wrong.is_empty(), "imports across the layers:\n{}", wrong.join("\n"));
}

#[test]
fn no_module_file_depends_on_itself_through_others() {
    let graph = graph();
    // Depth-first search, colouring each module grey while it is on the path.
    fn visit<'a>(
        module: &'a ModPath,
        graph: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        state: &mut BTreeMap<&'a ModPath, bool>,
        path: &mut Vec<&'a ModPath>,
    ) -> Option<Vec<String>> {
        match state.get(module) {
            Some(true) => {
                let at = path.iter().position(|m| *m == module).expect("grey modules are on the path");
                return Some(path[at..].iter().chain([&module]).map(|m| show(m)).collect());
            }
            Some(false) => return None,
            None => {}
        }
        state.insert(module, true);
        path.push(module);
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(module, false);
        None
    }
    let mut state = BTreeMap::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut state, &mut Vec::new()) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_grouped_and_nested_imports() {
    let modules: BTreeSet<ModPath> =
        [vec!["busy"], vec!["rows"], vec!["rows", "sessions"], vec!["sessions"], vec!["time_off"]]
            .into_iter()
            .map(|p| p.into_iter().map(String::from).collect())
            .collect();
    let here: ModPath = vec!["time_off".into(), "notices".into()];
    let code = "use crate::sql::{busy::{self, Claim}, rows::sessions::fetch};\nfn f() { super::super::sessions::x(); }";
    let found: Vec<String> = uses(&here, code, &modules).iter().map(show).collect();
    assert_eq!(found, ["busy", "rows/sessions", "sessions"]);
}
