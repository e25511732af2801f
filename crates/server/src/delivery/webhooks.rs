//! The webhook worker: claims due calls from the store (each to one worker
//! across servers), signs each per the Standard Webhooks spec and POSTs it,
//! and records how it went. A 2xx answer is success; anything else, or no
//! answer within the timeout, is tried again on the standard schedule.
//! Calls to loopback or private addresses are refused (checked again at
//! send time, so a name that later resolves inwards is caught) unless
//! `allow_private_webhooks` is on.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use circles_domain::Clock;
use circles_domain::delivery::AfterFailure;
use circles_domain::webhook::{after_failure, is_private};
use circles_store::model::{OutboundWebhook, WebhookOutcome};
use circles_store::{Store, StoreError};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use jiff::SignedDuration;
use rand::RngCore;
use sha2::Sha256;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// Calls claimed at once, and in flight at once.
const BATCH: u32 = 64;
const IN_FLIGHT: usize = 16;
/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a worker holds a claimed call: well above the call timeout.
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// How often the worker looks for due calls when no commit wakes it.
const IDLE: Duration = Duration::from_secs(5);
/// How long a wake lets other commits gather before the pass.
const GATHER: Duration = Duration::from_millis(10);

/// Signing secrets carry Standard Webhooks' prefix.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// `v1,<base64 HMAC-SHA256 of id.timestamp.body>` for each secret, space
/// separated, so a receiver holding either secret during a rotation verifies.
pub fn signature(secrets: &[String], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a URL may not be called: not http(s), or it reaches inside.
pub async fn refuse(url: &str, allow_private: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return Some("must be an http:// or https:// address".into()),
    };
    let host = parsed.host_str()?.trim_start_matches('[').trim_end_matches(']').to_owned();
    if allow_private {
        return None;
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(found) => found.map(|a| a.ip()).collect(),
            Err(e) => return Some(format!("{host} does not resolve: {e}")),
        },
    };
    addresses
        .iter()
        .any(|ip| is_private(*ip))
        .then(|| format!("{host} is a loopback or private-network address; webhooks call the public internet"))
}

pub struct WebhookWorker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    allow_private: bool,
}

impl WebhookWorker {
    pub fn new(state: &AppState) -> Self {
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self {
            store: state.store.clone(),
            clock: state.clock.clone(),
            client,
            allow_private: state.settings.allow_private_webhooks,
        }
    }

    /// Makes every call due now; returns how many were attempted.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut attempted = 0;
        loop {
            let batch = self.store.claim_webhooks(BATCH, LEASE).await?;
            if batch.is_empty() {
                return Ok(attempted);
            }
            attempted += batch.len();
            let outcomes: Vec<_> = futures::stream::iter(batch)
                .map(|call| async move {
                    let outcome = self.call(&call).await;
                    (call.org_id, call.id, outcome)
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            self.store.finish_webhooks(&outcomes).await?;
        }
    }

    async fn call(&self, call: &OutboundWebhook) -> WebhookOutcome {
        if let Some(why) = refuse(&call.url, self.allow_private).await {
            return WebhookOutcome::Failed { error: why, status: None };
        }
        let timestamp = self.clock.now().as_second();
        let id = call.id.to_string();
        let sent = self
            .client
            .post(&call.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature(&call.secrets, &id, timestamp, &call.payload))
            .body(call.payload.clone())
            .send()
            .await;
        let (error, status) = match sent {
            Ok(res) if res.status().is_success() => return WebhookOutcome::Sent { status: res.status().as_u16() },
            Ok(res) => (format!("the endpoint answered {}", res.status()), Some(res.status().as_u16())),
            Err(e) => (format!("calling the endpoint failed: {e}"), None),
        };
        tracing::warn!(webhook = %call.endpoint_id, message = %call.id, attempt = call.attempt, %error, "a webhook call failed");
        match after_failure(call.attempt, self.clock.now()) {
            AfterFailure::RetryAt(at) => WebhookOutcome::Retry { error, status, at },
            AfterFailure::GiveUp => WebhookOutcome::Failed { error, status },
        }
    }
}

/// Runs the worker until the handle is aborted.
pub fn spawn(worker: WebhookWorker) -> JoinHandle<()> {
    spawn_idling(worker, IDLE)
}

/// Runs the worker, which passes as soon as a write commits on this server
/// and otherwise every `idle` (for calls written on other servers, and
/// retries falling due).
pub fn spawn_idling(worker: WebhookWorker, idle: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = worker.drain().await {
                tracing::warn!(error = %e, "calling webhooks failed");
            }
            tokio::select! {
                () = worker.store.webhooks_waiting() => tokio::time::sleep(GATHER).await,
                () = tokio::time::sleep(idle) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_secret_signs_id_timestamp_and_body() {
        // The example from the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let body = r#"{"test": 2432232314}"#;
        let signed = signature(std::slice::from_ref(&secret), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(signature(&[secret.clone(), secret], "m", 1, "{}").split(' ').count(), 2);
    }

    #[tokio::test]
    async fn loopback_and_private_targets_are_refused_unless_allowed() {
        assert!(refuse("http://127.0.0.1:9/hook", false).await.is_some());
        assert!(refuse("http://[::1]/hook", false).await.is_some());
        assert!(refuse("http://10.0.0.8/hook", false).await.is_some());
        assert!(refuse("http://localhost/hook", false).await.is_some());
        assert!(refuse("ftp://example.com/hook", false).await.is_some());
        assert!(refuse("http://127.0.0.1:9/hook", true).await.is_none());
    }
}
