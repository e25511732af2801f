//! Cross-site request forgery: a browser sends the session cookie with any
//! request to this server, whichever site made it, so a state-changing
//! request that authenticates by cookie must come from this server's own
//! pages. Browsers say where a request comes from in `Origin` and
//! `Sec-Fetch-Site`; a request carrying neither is not from a browser page
//! (curl, scripts) and is let through, as are bearer-token calls, which a
//! foreign page cannot make with the user's credentials.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::SESSION_COOKIE;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Middleware: refuses a cookie-authenticated POST, PUT, PATCH or DELETE
/// that a browser says comes from another site.
pub async fn refuse_cross_site(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes_state = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    if changes_state
        && uses_session_cookie(req.headers())
        && is_cross_site(req.headers(), state.settings.public_url.as_deref())
    {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "a request from another site may not change anything with this site's session cookie",
        )
        .into_response();
    }
    next.run(req).await
}

fn uses_session_cookie(headers: &HeaderMap) -> bool {
    !headers.contains_key(AUTHORIZATION)
        && headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .any(|pair| pair.trim().split_once('=').is_some_and(|(name, _)| name == SESSION_COOKIE))
}

fn is_cross_site(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    // `same-site` is a sibling origin (another subdomain): not ours either.
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str().unwrap_or_default(), "same-origin" | "none")
    {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    match public_url {
        Some(public) => !same_origin(origin, public),
        None => {
            let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
            host.is_empty() || !authority.eq_ignore_ascii_case(host)
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the origin of `url`.
fn same_origin(origin: &str, url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    origin.eq_ignore_ascii_case(&format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
    }

    #[test]
    fn origins_are_compared_with_the_public_url_or_the_host() {
        let public = Some("https://circles.example/base");
        assert!(!is_cross_site(&headers(&[("origin", "https://circles.example")]), public));
        assert!(is_cross_site(&headers(&[("origin", "http://circles.example")]), public));
        assert!(is_cross_site(&headers(&[("origin", "https://evil.example")]), public));
        let host = [("host", "localhost:8080")];
        assert!(!is_cross_site(&headers(&[host[0], ("origin", "http://localhost:8080")]), None));
        assert!(is_cross_site(&headers(&[host[0], ("origin", "http://localhost:9090")]), None));
        assert!(is_cross_site(&headers(&[host[0], ("origin", "null")]), None));
        assert!(!is_cross_site(&headers(&host), None), "no Origin: not a browser page");
        assert!(is_cross_site(&headers(&[host[0], ("sec-fetch-site", "cross-site")]), None));
        assert!(is_cross_site(&headers(&[host[0], ("sec-fetch-site", "same-site")]), None));
        assert!(!is_cross_site(&headers(&[host[0], ("sec-fetch-site", "same-origin")]), None));
    }
}
