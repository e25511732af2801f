//! Assembling the service and running it.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::{auth, http, routes};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP service.
pub fn build(state: AppState) -> Router {
    let body_limit = state.settings.max_body_bytes;
    routes::router()
        .merge(crate::web::router())
        .fallback(|| async { ApiError::not_found("route") })
        // Layers listed outermost first.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn(http::metrics::record))
                .layer(middleware::from_fn(http::problems::problems_only))
                .layer(DefaultBodyLimit::max(body_limit))
                .layer(middleware::from_fn_with_state(state.clone(), auth::csrf::refuse_cross_site))
                .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
                .layer(middleware::from_fn_with_state(state.clone(), http::idempotency::middleware)),
        )
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests; the
/// audit sealer runs alongside.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let sealer = crate::jobs::spawn_sealer(store.clone());
    let hub = state.hub.spawn(&state.settings.database_url);
    let limits = state.settings.connection_limits();
    let served = http::server::serve(listener, build(state), limits, shutdown).await;
    sealer.abort();
    hub.abort();
    // Leave nothing unsealed behind.
    if let Err(e) = store.seal_audit().await {
        tracing::warn!(error = %e, "sealing audit events on shutdown failed");
    }
    served
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
