//! Appointments brought in from elsewhere in one go.

use circles_domain::ids::PersonId;
use circles_domain::interval::Interval;
use circles_domain::session::SessionDetails;

/// A one-on-one appointment agreed elsewhere (another system's calendar, or
/// a benchmark's seed): booked for its therapist and client at once.
#[derive(Debug, Clone)]
pub struct ImportedAppointment {
    pub therapist_id: PersonId,
    pub client_id: PersonId,
    pub interval: Interval,
    pub details: SessionDetails,
    /// The IANA zone the session is shown in.
    pub timezone: String,
}
