//! No statement under `src/sql/` spells a status or role the domain names: a quoted
//! SQL literal equal to a stored status (`'APPROVED'`, `'scheduled'`) would
//! be a second spelling of it. Statements bind the status or build their
//! text from the domain's `as_str()` (see `sql/rows/statuses.rs`, the one
//! file that turns the domain's statuses into SQL text).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use circles_domain::Role;
use circles_domain::delivery::DeliveryState;
use circles_domain::group::{GroupStatus, MembershipStatus};
use circles_domain::org_invitation::OrgInvitationStatus;
use circles_domain::session::{InvitationStatus, SeatStatus, SessionStatus};
use circles_domain::time_off::TimeOffStatus;
use circles_domain::waitlist::{EntryStatus, OfferStatus, OpeningStatus};
use circles_store::model::HoldStatus;

/// Every status the database stores, as it stores it.
fn stored_statuses() -> BTreeSet<&'static str> {
    let mut names = BTreeSet::new();
    names.extend(SessionStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(SeatStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(InvitationStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(TimeOffStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(MembershipStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(GroupStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(OrgInvitationStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(EntryStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(OfferStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(OpeningStatus::ALL.iter().map(|s| s.as_str()));
    names.extend(DeliveryState::ALL.iter().map(|s| s.as_str()));
    // Roles and hold statuses are stored words too.
    names.extend(Role::ALL.iter().map(|r| r.as_str()));
    let holds = [HoldStatus::Live, HoldStatus::Confirmed, HoldStatus::Released, HoldStatus::Expired];
    names.extend(holds.iter().map(|h| h.as_str()));
    names
}

/// The SQL literals (`'…'` of letters and underscores) in one source line,
/// comments left out.
fn quoted_words(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    let mut words = Vec::new();
    let mut rest = code;
    while let Some(open) = rest.find('\'') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('\'') else { break };
        let word = &after[..close];
        if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
            words.push(word);
        }
        rest = &after[close + 1..];
    }
    words
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            out.push(path);
        }
    }
}

/// Where `source` spells one of `statuses` as an SQL literal.
fn spelled(source: &str, statuses: &BTreeSet<&str>) -> Vec<(usize, String)> {
    source
        .lines()
        .enumerate()
        .flat_map(|(n, line)| {
            quoted_words(line).into_iter().filter(|w| statuses.contains(w)).map(move |w| (n + 1, w.to_owned()))
        })
        .collect()
}

#[test]
fn no_statement_spells_a_status_the_domain_names() {
    let statuses = stored_statuses();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sql");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut found = Vec::new();
    for file in files {
        if file.ends_with("rows/statuses.rs") {
            continue;
        }
        let source = fs::read_to_string(&file).expect("readable source file");
        for (line, word) in spelled(&source, &statuses) {
            found.push(format!("{}:{line}: '{word}'", file.strip_prefix(&root).unwrap().display()));
        }
    }
    assert!(found.is_empty(), "status literals in SQL (bind them or use rows/statuses.rs):\n{}", found.join("\n"));
}

#[test]
fn the_scan_finds_a_spelled_status_and_passes_other_words() {
    let statuses = stored_statuses();
    let source = "sql(\"UPDATE time_off SET status = 'APPROVED' WHERE kind = 'SEAT'\")\n// a comment: 'scheduled'\n";
    assert_eq!(spelled(source, &statuses), [(1, "APPROVED".to_owned())]);
    assert!(spelled("format!(\"status = {TIME_OFF_APPROVED}\")", &statuses).is_empty());
}
