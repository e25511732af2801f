//! How freed places are offered, as form fields: a mode and, for offers in
//! parallel, how many clients at once. The group settings form offers "as
//! the organisation does" too; the waitlist settings form does not.

use circles_domain::waitlist::{MAX_PARALLEL, OfferMode};
use maud::{Markup, html};

use super::form::{Errors, Fields, Input};
use crate::http::error::ApiError;

/// The select's value for `mode`.
fn value_of(mode: Option<OfferMode>) -> &'static str {
    match mode {
        None => "",
        Some(OfferMode::OneAtATime) => "ONE_AT_A_TIME",
        Some(OfferMode::Parallel { .. }) => "PARALLEL",
        Some(OfferMode::Manual) => "MANUAL",
    }
}

/// The fields for choosing `current`; `inherit` names the choice of having
/// none (the group follows the organisation), when there is one. `api` is
/// the API's name for the mode, whose errors show here.
pub fn fields(current: Option<OfferMode>, inherit: Option<&str>, errors: &Errors, api: &str) -> Markup {
    let chosen = value_of(current);
    let k = match current {
        Some(OfferMode::Parallel { k }) => k.to_string(),
        _ => "3".to_owned(),
    };
    let k_api = format!("{api}.k");
    let k_hint = format!("Only for offers in parallel: from 1 to {MAX_PARALLEL}.");
    html! {
        div.field.invalid[errors.field(api).is_some()] {
            label for="f-offer-mode" { "How a freed seat is offered" }
            select #f-offer-mode name="offer_mode" aria-describedby="f-offer-mode-hint" {
                @if let Some(words) = inherit { option value="" selected[chosen.is_empty()] { (words) } }
                option value="ONE_AT_A_TIME" selected[chosen == "ONE_AT_A_TIME"] { "To one client at a time, best first" }
                option value="PARALLEL" selected[chosen == "PARALLEL"] { "To several at once; first to accept" }
                option value="MANUAL" selected[chosen == "MANUAL"] { "By staff, from the suggestions" }
            }
            span.hint #f-offer-mode-hint {
                "One at a time: the next client is offered when one declines or lets it lapse. "
                "Several at once: the others' offers are withdrawn when one accepts."
            }
            @if let Some(e) = errors.field(api) { span.error { (e) } }
        }
        (Input::new("offer_k", "Clients offered at once").kind("number").value(&k).hint(&k_hint).api(&k_api).render(errors))
    }
}

/// The mode the form sent: `None` for "as the organisation does" (an empty
/// choice). `api` names the fields in a refusal.
pub fn sent(fields: &Fields, api: &str) -> Result<Option<OfferMode>, ApiError> {
    match fields.text("offer_mode").as_deref() {
        None => Ok(None),
        Some("ONE_AT_A_TIME") => Ok(Some(OfferMode::OneAtATime)),
        Some("MANUAL") => Ok(Some(OfferMode::Manual)),
        Some("PARALLEL") => {
            let k = fields.text("offer_k").and_then(|k| k.parse::<u32>().ok());
            let k = k.ok_or_else(|| ApiError::field(&format!("{api}.k"), "must be a whole number"))?;
            Ok(Some(OfferMode::Parallel { k }))
        }
        Some(_) => Err(ApiError::field(api, "must be one of the choices")),
    }
}
