use std::sync::Arc;

use circles_domain::Clock;
use circles_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::cache::AuthCache;
use crate::auth::password::PasswordHashing;
use crate::auth::rate_limit::LoginLimiter;
use crate::config::Settings;
use crate::delivery::feed::FeedLimiter;
use crate::live::Hub;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub passwords: PasswordHashing,
    pub login_limiter: Arc<LoginLimiter>,
    pub auth_cache: Arc<AuthCache>,
    pub feed_limiter: Arc<FeedLimiter>,
    pub metrics: PrometheusHandle,
    /// Live events fanned out to this server's listeners.
    pub hub: Arc<Hub>,
    /// Availability pages being computed and written at once: each holds a
    /// page of the organisation's calendars in memory while it streams, so
    /// the number at once bounds the server's memory (others wait their turn).
    pub searches: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Settings) -> anyhow::Result<Self> {
        Ok(Self {
            passwords: PasswordHashing::new(settings.argon2_memory_kib, settings.argon2_iterations)?,
            login_limiter: Arc::new(LoginLimiter::new(
                settings.login_attempts_per_minute_per_ip,
                settings.login_attempts_per_minute_per_account,
            )),
            feed_limiter: Arc::new(FeedLimiter::new(settings.feed_fetches_per_minute)),
            auth_cache: Arc::new(AuthCache::new(std::time::Duration::from_secs(settings.auth_cache_seconds))),
            metrics: crate::http::metrics::handle(),
            hub: Hub::new(store.clone()),
            searches: Arc::new(tokio::sync::Semaphore::new(crate::routes::availability_search::SEARCHES_AT_ONCE)),
            store,
            clock,
            settings: Arc::new(settings),
        })
    }
}
