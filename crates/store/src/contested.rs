//! Bookings in flight in this process, so that a crowd asking for the same
//! person's same time is answered from memory rather than in a line for
//! pooled connections.
//!
//! A booking enters its claims before its first look at the database. A
//! request whose claim overlaps a claim in flight for the same person does
//! not go to the database: it waits (holding no connection) for that
//! booking's outcome. If the booking was made, the time is taken — the
//! refusal's instant lies inside the waiting request's own span, so it is
//! as true as a refusal the database would have given — and one refusal,
//! with retry hints searched once, is shared by every waiter that asked for
//! the same interval. If it was not made, the waiters go to the database as
//! usual (several at once: a slot already taken is refused by each
//! request's own first look, in parallel).
//!
//! Only this process's requests meet here; bookings on other servers are
//! kept apart by the database's row locks and exclusion constraint as ever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::interval::Interval;
use tokio::sync::{OnceCell, watch};

use crate::Conflict;

/// How a booking in flight ended.
#[derive(Clone)]
pub enum Outcome {
    Pending,
    /// Made: its claims are busy time now.
    Booked {
        session: SessionId,
        shared: Arc<SharedRefusals>,
    },
    /// Not made (refused, failed, or abandoned).
    NotBooked,
}

/// The refusals handed to the waiters of one booking, one per interval
/// asked for (and where its hints may fall), each made once.
#[derive(Default)]
pub struct SharedRefusals {
    by_request: Mutex<HashMap<Asked, Arc<OnceCell<Conflict>>>>,
}

/// Whose time, which interval, and where hints may fall (in words).
type Asked = (PersonId, Interval, String);

impl SharedRefusals {
    /// The cell holding the refusal of `person`'s `wanted` time, with retry
    /// hints limited as `within` describes.
    pub fn cell(&self, person: PersonId, wanted: Interval, within: String) -> Arc<OnceCell<Conflict>> {
        let mut cells = self.by_request.lock().expect("shared refusals");
        cells.entry((person, wanted, within)).or_default().clone()
    }
}

struct Entry {
    ticket: u64,
    interval: Interval,
    outcome: watch::Receiver<Outcome>,
}

/// The claims of bookings in flight, by organisation and person.
#[derive(Default)]
pub struct Contested {
    in_flight: Mutex<HashMap<(OrgId, PersonId), Vec<Entry>>>,
    next_ticket: std::sync::atomic::AtomicU64,
}

/// What [`Contested::enter`] decided.
pub enum Turn {
    /// Nobody is booking this time: go ahead, and report the outcome.
    Go(Ticket),
    /// Someone is: wait for their outcome.
    Wait(Waiting),
}

/// A booking in flight elsewhere in this process that overlaps ours.
pub struct Waiting {
    /// Our person whose time it claims, and the interval we asked for.
    pub person: PersonId,
    pub wanted: Interval,
    /// The interval it claims for that person.
    pub theirs: Interval,
    outcome: watch::Receiver<Outcome>,
}

impl Waiting {
    /// Its outcome, once known.
    pub async fn outcome(mut self) -> Outcome {
        match self.outcome.wait_for(|o| !matches!(o, Outcome::Pending)).await {
            Ok(outcome) => outcome.clone(),
            // The booking was dropped without reporting: as not made.
            Err(_) => Outcome::NotBooked,
        }
    }
}

impl Contested {
    /// Enters `claims` (person, interval) of a booking in `org`, unless one
    /// overlaps a claim of the same person already in flight.
    pub fn enter(self: &Arc<Self>, org: OrgId, claims: &[(PersonId, Interval)]) -> Turn {
        let mut in_flight = self.in_flight.lock().expect("contested claims");
        for &(person, wanted) in claims {
            if let Some(entry) =
                in_flight.get(&(org, person)).and_then(|e| e.iter().find(|e| e.interval.overlaps(&wanted)))
            {
                return Turn::Wait(Waiting { person, wanted, theirs: entry.interval, outcome: entry.outcome.clone() });
            }
        }
        let ticket = self.next_ticket.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (report, outcome) = watch::channel(Outcome::Pending);
        for &(person, interval) in claims {
            in_flight.entry((org, person)).or_default().push(Entry { ticket, interval, outcome: outcome.clone() });
        }
        Turn::Go(Ticket { contested: self.clone(), org, ticket, people: claims.iter().map(|c| c.0).collect(), report })
    }

    fn leave(&self, org: OrgId, ticket: u64, people: &[PersonId]) {
        let mut in_flight = self.in_flight.lock().expect("contested claims");
        for &person in people {
            if let Some(entries) = in_flight.get_mut(&(org, person)) {
                entries.retain(|e| e.ticket != ticket);
                if entries.is_empty() {
                    in_flight.remove(&(org, person));
                }
            }
        }
    }
}

/// A booking's place in flight; dropping it without [`Ticket::booked`]
/// tells the waiters it was not made.
pub struct Ticket {
    contested: Arc<Contested>,
    org: OrgId,
    ticket: u64,
    people: Vec<PersonId>,
    report: watch::Sender<Outcome>,
}

impl Ticket {
    /// The booking was committed as `session`.
    pub fn booked(self, session: SessionId) {
        // Out of flight first: a request arriving now finds the time taken
        // in the database.
        self.contested.leave(self.org, self.ticket, &self.people);
        self.report.send_replace(Outcome::Booked { session, shared: Arc::default() });
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.contested.leave(self.org, self.ticket, &self.people);
        if matches!(*self.report.borrow(), Outcome::Pending) {
            self.report.send_replace(Outcome::NotBooked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::{SignedDuration, Timestamp};

    fn at(minute: i64, length: i64) -> Interval {
        let start = Timestamp::UNIX_EPOCH + SignedDuration::from_mins(minute);
        Interval::starting_at(start, SignedDuration::from_mins(length)).unwrap()
    }

    #[tokio::test]
    async fn an_overlapping_claim_waits_for_the_booking_in_flight_and_learns_it_was_made() {
        let contested = Arc::new(Contested::default());
        let (org, therapist, a, b) = (OrgId::new(), PersonId::new(), PersonId::new(), PersonId::new());
        let Turn::Go(first) = contested.enter(org, &[(therapist, at(0, 50)), (a, at(0, 50))]) else {
            panic!("the first booking goes ahead");
        };
        let Turn::Wait(waiting) = contested.enter(org, &[(therapist, at(30, 50)), (b, at(30, 50))]) else {
            panic!("an overlapping claim of the same therapist waits");
        };
        assert_eq!((waiting.person, waiting.theirs), (therapist, at(0, 50)));
        let session = SessionId::new();
        first.booked(session);
        assert!(matches!(waiting.outcome().await, Outcome::Booked { session: s, .. } if s == session));
        assert!(matches!(contested.enter(org, &[(therapist, at(0, 50))]), Turn::Go(_)), "nothing is in flight after");
    }

    #[tokio::test]
    async fn other_times_people_and_organisations_go_ahead_and_an_abandoned_booking_frees_its_waiters() {
        let contested = Arc::new(Contested::default());
        let (org, therapist) = (OrgId::new(), PersonId::new());
        let Turn::Go(first) = contested.enter(org, &[(therapist, at(0, 50))]) else { panic!("goes ahead") };
        assert!(matches!(contested.enter(org, &[(therapist, at(50, 50))]), Turn::Go(_)), "back to back");
        assert!(matches!(contested.enter(org, &[(PersonId::new(), at(0, 50))]), Turn::Go(_)), "someone else");
        assert!(matches!(contested.enter(OrgId::new(), &[(therapist, at(0, 50))]), Turn::Go(_)), "another org");
        let Turn::Wait(waiting) = contested.enter(org, &[(therapist, at(10, 10))]) else { panic!("waits") };
        drop(first);
        assert!(matches!(waiting.outcome().await, Outcome::NotBooked));
    }
}
