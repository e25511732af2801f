//! Background work: each job is a store use case run on a timer. Several
//! servers may run jobs at once — the store claims work with `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL and SQLite has one writer — so no leader is needed.

use std::sync::Arc;
use std::time::Duration;

use circles_store::Store;
use jiff::SignedDuration;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use crate::state::AppState;

const TICK: Duration = Duration::from_secs(5);
/// Housekeeping that need not run often: every this many ticks.
const HOUSEKEEPING_EVERY: u64 = 720;

/// Runs every job on a timer until the returned handle is aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let timers = async {
            let mut ticker = interval(TICK);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            for tick in 0u64.. {
                ticker.tick().await;
                run_frequent(&state).await;
                if tick % HOUSEKEEPING_EVERY == 0 {
                    run_housekeeping(&state).await;
                }
            }
        };
        tokio::join!(timers, run_waitlist(&state));
    })
}

/// Offers freed seats and slots: a pass whenever one is recorded on this
/// server (so with no grace delay an offer follows the freeing within
/// milliseconds), every tick for what other servers recorded or grace
/// delays released, and a sweep for free seats that no event recorded
/// every `waitlist_sweep_minutes`.
async fn run_waitlist(state: &AppState) {
    let grace = state.settings.offer_grace_seconds.map(|s| SignedDuration::from_secs(s as i64));
    let sweep_every = Duration::from_secs(state.settings.waitlist_sweep_minutes.max(1) * 60);
    let mut last_sweep: Option<tokio::time::Instant> = None;
    loop {
        let sweep = last_sweep.is_none_or(|at| at.elapsed() >= sweep_every);
        if sweep {
            last_sweep = Some(tokio::time::Instant::now());
        }
        match state.store.waitlist_pass(grace, sweep).await {
            Ok(report) if report == Default::default() => {}
            Ok(report) => tracing::info!(?report, "waitlist pass"),
            Err(e) => tracing::warn!(error = %e, "waitlist pass failed"),
        }
        let _ = tokio::time::timeout(TICK, state.store.opening_recorded()).await;
    }
}

/// Starts the delivery worker the settings call for; without a place to
/// send e-mail (`smtp_url` or `mail_dir`) deliveries wait in the outbox.
pub fn spawn_delivery(state: &AppState) -> anyhow::Result<Option<JoinHandle<()>>> {
    let worker = crate::delivery::Worker::from_settings(state.store.clone(), state.clock.clone(), &state.settings)?;
    if worker.is_none() {
        tracing::info!("e-mail delivery is off (set smtp_url or mail_dir); messages wait in the outbox");
    }
    Ok(worker.map(crate::delivery::spawn))
}

/// How long the sealer lets writes gather after one wakes it.
const SEAL_GATHER: Duration = Duration::from_millis(25);

/// Seals audit events into their chains shortly after writes commit them:
/// one pass per wake, however many writes woke it, so a busy organisation's
/// events are linked in batches. The short gathering pause keeps a steady
/// trickle of writes from costing a sealing transaction (and a disk flush)
/// each.
pub fn spawn_sealer(store: Arc<dyn Store>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = store.seal_audit().await {
                tracing::warn!(error = %e, "sealing audit events failed");
                tokio::time::sleep(TICK).await;
            }
            store.audit_written().await;
            tokio::time::sleep(SEAL_GATHER).await;
        }
    })
}

/// Jobs whose delay users would notice.
pub async fn run_frequent(state: &AppState) {
    // Another server's writes do not wake this one's sealer; the timer
    // links whatever they left.
    match state.store.seal_audit().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sealed = n, "sealed audit events"),
        Err(e) => tracing::warn!(error = %e, "sealing audit events failed"),
    }
    match state.store.expire_holds().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(expired = n, "expired holds"),
        Err(e) => tracing::warn!(error = %e, "expiring holds failed"),
    }
    match state.store.settle_departures().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(members = n, "settled departures"),
        Err(e) => tracing::warn!(error = %e, "settling departures failed"),
    }
    match state.store.send_reminders().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "sent reminders"),
        Err(e) => tracing::warn!(error = %e, "sending reminders failed"),
    }
    match state.store.announce_check_in_windows().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(events = n, "announced check-in windows"),
        Err(e) => tracing::warn!(error = %e, "announcing check-in windows failed"),
    }
}

/// Clean-up that keeps tables and memory small.
pub async fn run_housekeeping(state: &AppState) {
    let cutoff = state.clock.now() - circles_store_retention();
    match state.store.purge_idempotency_keys(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, "purged idempotency keys"),
        Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
    }
    state.login_limiter.retain_recent();
    match state.store.prune_events(state.clock.now() - circles_domain::live::RETENTION).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(pruned = n, "pruned live events past retention"),
        Err(e) => tracing::warn!(error = %e, "pruning live events failed"),
    }
}

fn circles_store_retention() -> SignedDuration {
    // Keys are honoured for a day; keep them a little longer than promised.
    SignedDuration::from_hours(25)
}
