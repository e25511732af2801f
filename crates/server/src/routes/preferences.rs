//! A person's delivery choices: the zone their messages give times in, the
//! number texts go to, and per kind of notification whether it is also
//! e-mailed or texted. The inbox always gets everything; e-mail about
//! changes to where someone has to be cannot be turned off; texts go only to
//! those who ask for them.

use axum::extract::State;
use circles_domain::delivery::{Channel, OUTBOX_CHANNELS, always_sent};
use circles_domain::input::{PhoneNumber, TimeZoneName};
use circles_domain::session::NotificationKind;
use circles_domain::validation::Validator;
use circles_store::model::{ChannelChoice, Preferences};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::Problem;
use crate::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChannelChoiceView {
    /// A notification kind (see the inbox), e.g. `reminder`.
    pub kind: String,
    /// email or sms.
    pub channel: String,
    pub enabled: bool,
    /// Essential messages cannot be turned off (by e-mail; texts are extra).
    #[serde(default)]
    pub essential: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesView {
    /// The IANA zone messages give times in; null means each session's own.
    pub timezone: Option<String>,
    /// The number texts go to, in E.164 form (`+14155550123`); null when none.
    pub phone: Option<String>,
    pub channels: Vec<ChannelChoiceView>,
}

impl From<Preferences> for PreferencesView {
    fn from(p: Preferences) -> Self {
        let channels = p
            .channels
            .into_iter()
            .map(|c| ChannelChoiceView {
                kind: c.kind.as_str().to_owned(),
                channel: c.channel.as_str().to_owned(),
                enabled: c.enabled,
                essential: always_sent(c.kind, c.channel),
            })
            .collect();
        Self { timezone: p.timezone, phone: p.phone, channels }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesRequest {
    /// An IANA zone such as Europe/Lisbon, or null for each session's own.
    #[schema(format = "time-zone")]
    pub timezone: Option<String>,
    /// The number texts go to, with its country code (`+1 415 555 0123`);
    /// null (or blank) for none. Needed to turn any text on.
    #[serde(default)]
    #[schema(pattern = r"^ *(\+[ .()-]*[1-9][ .()-]*([0-9][ .()-]*){7,14})? *$")]
    pub phone: Option<String>,
    /// The choices to change; kinds left out go back to their default (e-mail
    /// on, texts off).
    #[serde(default)]
    pub channels: Vec<ChannelChoiceRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelChoiceRequest {
    pub kind: String,
    pub channel: String,
    /// Messages that change where someone has to be (an invitation, a
    /// session scheduled, booked, cancelled, rescheduled or reassigned)
    /// cannot be turned off.
    pub enabled: bool,
}

/// The caller's delivery choices, every kind and channel listed.
#[utoipa::path(get, path = "/api/v1/me/preferences", tag = "me",
    responses((status = 200, body = PreferencesView), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn get_preferences(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<PreferencesView>> {
    Ok(axum::Json(state.store.preferences(caller.principal.account_id).await?.into()))
}

/// Replaces the caller's delivery choices.
#[utoipa::path(put, path = "/api/v1/me/preferences", tag = "me", request_body = PreferencesRequest,
    responses((status = 200, body = PreferencesView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn put_preferences(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PreferencesRequest>,
) -> ApiResult<axum::Json<PreferencesView>> {
    let mut v = Validator::default();
    let timezone = v.check_opt("timezone", body.timezone.as_deref().map(TimeZoneName::parse));
    let phone = v.check_opt("phone", body.phone.as_deref().filter(|p| !p.trim().is_empty()).map(PhoneNumber::parse));
    let mut choices = Vec::new();
    for (i, choice) in body.channels.iter().enumerate() {
        let kind = v.check(&format!("channels[{i}].kind"), choice.kind.parse::<NotificationKind>());
        let channel = v.check(
            &format!("channels[{i}].channel"),
            choice
                .channel
                .parse::<Channel>()
                .and_then(|c| if OUTBOX_CHANNELS.contains(&c) { Ok(c) } else { Err(format!("{c} is not offered")) }),
        );
        if let (Some(kind), Some(channel)) = (kind, channel)
            && !choice.enabled
            && always_sent(kind, channel)
        {
            v.check::<(), _>(
                &format!("channels[{i}].enabled"),
                Err(format!("{kind} messages change where you have to be and cannot be turned off")),
            );
        }
        choices.push((kind, channel, choice.enabled));
    }
    let texts_wanted = choices.iter().any(|(_, channel, enabled)| *enabled && *channel == Some(Channel::Sms));
    if texts_wanted && phone == Some(None) {
        v.reject("phone", "is needed to send you texts");
    }
    let (timezone, phone, channels) = v.done(|| {
        let channels = choices
            .into_iter()
            .map(|(kind, channel, enabled)| Some(ChannelChoice { kind: kind?, channel: channel?, enabled }))
            .collect::<Option<Vec<_>>>()?;
        Some((timezone?, phone?, channels))
    })?;
    let prefs =
        Preferences { timezone: timezone.map(|z| z.to_string()), phone: phone.map(|p| p.to_string()), channels };
    Ok(axum::Json(state.store.set_preferences(&caller.ctx(), caller.principal.account_id, prefs).await?.into()))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(get_preferences, put_preferences))
}
