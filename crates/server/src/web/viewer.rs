//! Who is looking at a page: the signed-in caller (from the session cookie)
//! and, inside an organisation, their membership, the organisations they
//! can switch to and their unread count.

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use circles_domain::Role;
use circles_domain::ids::OrgId;
use circles_store::model::Membership;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::{PageError, PageResult};
use crate::auth::{Caller, Member, SESSION_COOKIE};
use crate::state::AppState;

pub const FLASH_COOKIE: &str = "circles_flash";

/// The header counts unread notifications up to this many ("99+" beyond).
pub const UNREAD_COUNTED: u64 = 100;

/// A value of one cookie of the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// A signed-in person, known by their session cookie.
#[derive(Clone)]
pub struct Viewer {
    pub caller: Caller,
    /// The session secret; form tokens are derived from it, so a token is
    /// worthless outside this session.
    secret: String,
    pub flash: Option<Flash>,
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> PageResult<Self> {
        let secret = cookie(parts, SESSION_COOKIE).filter(|s| !s.is_empty()).ok_or(PageError::SignIn)?.to_owned();
        let flash = cookie(parts, FLASH_COOKIE).and_then(Flash::decode);
        let caller = Caller::from_request_parts(parts, state).await.map_err(|_| PageError::SignIn)?;
        Ok(Self { caller, secret, flash })
    }
}

impl Viewer {
    #[cfg(test)]
    pub fn for_tests(caller: Caller, flash: Option<Flash>) -> Self {
        Self { caller, secret: "test session".into(), flash }
    }

    /// The token a form posting to `action` must carry.
    pub fn form_token(&self, action: &str) -> String {
        form_token(&self.secret, action)
    }

    pub fn check_form_token(&self, action: &str, presented: Option<&str>) -> PageResult<()> {
        let expected = self.form_token(action);
        let presented = presented.unwrap_or_default();
        // Compare every byte so the time taken says nothing about the token.
        let same = expected.len() == presented.len()
            && expected.bytes().zip(presented.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same {
            Ok(())
        } else {
            Err(PageError::bad_request("This form has expired. Go back, reload the page and send it again."))
        }
    }
}

pub fn form_token(secret: &str, action: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"circles form\0");
    hash.update(secret.as_bytes());
    hash.update(b"\0");
    hash.update(action.as_bytes());
    hex::encode(&hash.finalize()[..16])
}

/// A one-line message carried across a redirect in a short-lived cookie
/// (never in the URL, where it would end up in logs and history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Self { ok: true, text: text.into() }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self { ok: false, text: text.into() }
    }

    pub fn encode(&self) -> String {
        let raw = format!("{}{}", if self.ok { 'o' } else { 'e' }, self.text);
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut chars = text.chars();
        let ok = match chars.next()? {
            'o' => true,
            'e' => false,
            _ => return None,
        };
        Some(Self { ok, text: chars.collect() })
    }
}

/// A viewer inside one organisation: everything the layout needs.
pub struct Ctx {
    pub viewer: Viewer,
    pub member: Member,
    pub memberships: Vec<Membership>,
    pub unread: usize,
    pub tz: TimeZone,
    /// The zone's name, said on pages next to times and inputs.
    pub zone: String,
    /// Whether the zone is the viewer's own choice (else the organisation's).
    pub own_zone: bool,
    pub name: String,
}

impl Ctx {
    /// The viewer as a member of `org`; not being one is 404 like the API.
    pub async fn load(state: &AppState, viewer: Viewer, org: Uuid) -> PageResult<Self> {
        let member = viewer.caller.member(state, OrgId(org)).await?;
        let account = viewer.caller.principal.account_id;
        let frame = state
            .store
            .page_frame(account, member.org_id(), member.person_id, UNREAD_COUNTED)
            .await
            .map_err(crate::http::error::ApiError::from)?;
        let (memberships, name) = (frame.memberships, frame.name);
        let unread = usize::try_from(frame.unread).unwrap_or(usize::MAX);
        // The viewer's own zone when they chose one, else the organisation's.
        let own_zone = frame.timezone.is_some();
        let zone = frame.timezone.unwrap_or_else(|| member.org.timezone.clone());
        let tz = super::time::zone(&zone);
        Ok(Self { viewer, member, memberships, unread, tz, zone, own_zone, name })
    }

    pub fn org(&self) -> Uuid {
        self.member.org_id().0
    }

    pub fn role(&self) -> Role {
        self.member.role
    }

    pub fn is_staff(&self) -> bool {
        self.member.role != Role::Client
    }

    /// A path inside this organisation's pages.
    pub fn path(&self, rest: &str) -> String {
        format!("/orgs/{}{rest}", self.org())
    }
}

/// The caller as a member of `org`, decided exactly as the API's `Member`
/// extractor decides it (a stranger is 404), for handing to an API handler.
pub async fn member_in(state: &AppState, caller: &Caller, org: Uuid) -> crate::http::error::ApiResult<Member> {
    caller.member(state, circles_domain::ids::OrgId(org)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_its_cookie() {
        let flash = Flash::error("Dr. Hannah Okafor is busy then; “Thu 10 Dec, 18:00 EST”.");
        assert_eq!(Flash::decode(&flash.encode()), Some(flash));
    }

    #[test]
    fn a_form_token_belongs_to_one_session_and_one_form() {
        let token = form_token("session-a", "/orgs/x/notifications/read-all");
        assert_ne!(token, form_token("session-b", "/orgs/x/notifications/read-all"));
        assert_ne!(token, form_token("session-a", "/signout"));
        assert_eq!(token.len(), 32);
    }
}
