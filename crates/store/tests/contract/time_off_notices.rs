//! Who the time-off workflow tells what: every step writes its notices in
//! its own transaction, never to the person who took it, and never to
//! anyone in another organisation.

use circles_domain::Role;
use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::input::Email;
use circles_domain::interval::Interval;
use circles_domain::session::SessionKind;
use circles_domain::time_off::TimeOffKind;
use circles_store::model::{AuditCtx, NewPerson, NewTimeOff, Notification};
use circles_testkit::{Backend, backend_tests};

use crate::availability::office_hours;
use crate::support::{Harness, at, conflict_code, name, one_on_one, slot};

backend_tests!(
    a_request_asks_the_admins_and_tells_a_therapist_asked_for,
    approval_tells_the_therapist_the_cover_and_the_clients_left_without_cover,
    approval_with_auto_reassign_tells_everyone_on_each_moved_session,
    a_clashing_auto_reassignment_tells_the_other_admins_cover_is_still_needed,
    denial_and_withdrawal_tell_the_other_side,
    reassigning_tells_each_moved_sessions_people_and_a_refused_one_tells_nobody,
    cancelling_affected_sessions_tells_their_clients_and_co_therapists_why,
    changing_someone_elses_working_hours_tells_them,
    each_organisation_hears_only_of_its_own_time_off,
);

/// Midnight to midnight in New York, Tuesday 2 to Saturday 6 March 2027.
const FROM: &str = "2027-03-02T05:00:00Z";
const TO: &str = "2027-03-07T05:00:00Z";
const DATES: &str = "from Tue 2 Mar 2027 to Sat 6 Mar 2027";

/// Two organisations. In the first: the admin who created it and a
/// second admin, a therapist, a named cover, a moderator and two clients;
/// the second has the same people, who must never hear of the first.
struct World {
    org: OrgId,
    admin: PersonId,
    admin2: PersonId,
    therapist: PersonId,
    cover: PersonId,
    moderator: PersonId,
    clients: [PersonId; 2],
    other_org: OrgId,
    outsiders: Vec<PersonId>,
}

impl World {
    async fn new(h: &Harness) -> World {
        let (org, admin) = h.org("n").await;
        let (other, other_admin) = h.org("elsewhere").await;
        let person = |org: OrgId, email: &'static str, role: Role| h.person(org, email, role);
        let cover = h
            .store
            .add_person(
                &AuditCtx::operator(),
                org.id,
                NewPerson {
                    email: Email::parse("cover@n.example").unwrap(),
                    name: name("Casey Cover"),
                    role: Role::Therapist,
                    password_hash: None,
                },
            )
            .await
            .unwrap()
            .id;
        let mut outsiders = vec![other_admin.id];
        for (email, role) in
            [("t@e.example", Role::Therapist), ("a2@e.example", Role::Admin), ("c@e.example", Role::Client)]
        {
            outsiders.push(person(other.id, email, role).await.id);
        }
        World {
            org: org.id,
            admin: admin.id,
            admin2: person(org.id, "a2@n.example", Role::Admin).await.id,
            therapist: person(org.id, "t@n.example", Role::Therapist).await.id,
            cover,
            moderator: person(org.id, "m@n.example", Role::Moderator).await.id,
            clients: [
                person(org.id, "c0@n.example", Role::Client).await.id,
                person(org.id, "c1@n.example", Role::Client).await.id,
            ],
            other_org: other.id,
            outsiders,
        }
    }

    fn everyone(&self) -> Vec<PersonId> {
        vec![self.admin, self.admin2, self.therapist, self.cover, self.moderator, self.clients[0], self.clients[1]]
    }

    fn acting(&self, person: PersonId) -> AuditCtx {
        AuditCtx::operator().acting_as(person)
    }

    fn request(&self, auto_reassign: bool) -> NewTimeOff {
        NewTimeOff {
            therapist_id: self.therapist,
            kind: TimeOffKind::Vacation,
            reason: "Family trip".into(),
            range: Interval::new(at(FROM), at(TO)).unwrap(),
            auto_reassign,
        }
    }

    /// Five one-on-one sessions for the therapist, Tuesday to Saturday at
    /// 10:00 New York, with the two clients in turn.
    async fn five_sessions(&self, h: &Harness) -> Vec<SessionId> {
        let mut ids = Vec::new();
        for day in 0..5 {
            let booking =
                one_on_one(self.therapist, self.clients[day % 2], slot(&format!("2027-03-0{}T15:00:00Z", day + 2), 50));
            ids.push(h.store.create_session(&AuditCtx::operator(), self.org, booking).await.unwrap().id);
        }
        ids
    }

    /// The one notice of `kind` (about `session`) `person` has.
    async fn the(&self, h: &Harness, person: PersonId, kind: &str, session: Option<SessionId>) -> Notification {
        let inbox = h.store.notifications(self.org, person, false, 500).await.unwrap();
        let mut matching: Vec<Notification> =
            inbox.into_iter().filter(|n| n.kind == kind && n.session_id == session).collect();
        assert_eq!(matching.len(), 1, "{kind} about {session:?}");
        matching.remove(0)
    }

    /// The kinds and linked sessions each of `everyone` was told since the
    /// last look (looking marks them read), in `everyone` order; nobody in
    /// the other organisation has ever been told anything.
    async fn news(&self, h: &Harness) -> Vec<Vec<(String, Option<SessionId>)>> {
        let mut all = Vec::new();
        for person in self.everyone() {
            let unread = h.store.notifications(self.org, person, true, 500).await.unwrap();
            h.store.mark_all_notifications_read(self.org, person).await.unwrap();
            all.push(sorted(unread.into_iter().map(|n| (n.kind, n.session_id)).collect()));
        }
        for outsider in &self.outsiders {
            assert!(h.store.notifications(self.other_org, *outsider, false, 10).await.unwrap().is_empty());
        }
        let elsewhere = format!("SELECT COUNT(*) FROM notifications WHERE CAST(org_id AS TEXT) = '{}'", self.other_org);
        assert_eq!(h.db.scalar(&elsewhere).await, 0, "nothing reaches another organisation");
        all
    }
}

fn told(kind: &str, session: Option<SessionId>) -> (String, Option<SessionId>) {
    (kind.to_owned(), session)
}

fn each(kind: &str, sessions: &[SessionId]) -> Vec<(String, Option<SessionId>)> {
    sessions.iter().map(|s| told(kind, Some(*s))).collect()
}

fn sorted(mut news: Vec<(String, Option<SessionId>)>) -> Vec<(String, Option<SessionId>)> {
    news.sort();
    news
}

/// Sessions 0, 2 and 4 are the first client's, 1 and 3 the second's.
fn by_client(sessions: &[SessionId]) -> [Vec<SessionId>; 2] {
    [vec![sessions[0], sessions[2], sessions[4]], vec![sessions[1], sessions[3]]]
}

async fn a_request_asks_the_admins_and_tells_a_therapist_asked_for(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    w.five_sessions(&h).await;
    w.news(&h).await;

    // The therapist asks: both admins are asked to decide; nobody else hears.
    let own = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    let pending = vec![told("time_off_requested", None)];
    assert_eq!(w.news(&h).await, [pending.clone(), pending.clone(), vec![], vec![], vec![], vec![], vec![]]);
    let asked = w.the(&h, w.admin, "time_off_requested", None).await;
    assert_eq!(asked.title, "A time-off request needs your decision");
    assert_eq!(asked.body, format!("A Person asks for time off (vacation) {DATES}; 5 sessions in the range."));

    // An admin asks on the therapist's behalf: the other admin and the
    // therapist hear, the admin who asked does not.
    h.store.cancel_time_off(&w.acting(w.therapist), w.org, own.id).await.unwrap();
    w.news(&h).await;
    h.store.request_time_off(&w.acting(w.admin), w.org, w.request(false)).await.unwrap();
    assert_eq!(w.news(&h).await, [vec![], pending.clone(), pending, vec![], vec![], vec![], vec![]]);
    let mine = w.the(&h, w.therapist, "time_off_requested", None).await;
    assert_eq!(mine.title, "Time off was requested for you");
    assert_eq!(mine.body, format!("Time off (vacation) {DATES} awaits a decision; 5 sessions in the range."));
}

async fn approval_tells_the_therapist_the_cover_and_the_clients_left_without_cover(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    let sessions = w.five_sessions(&h).await;
    let time_off = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    w.news(&h).await;

    // Cover is named but nothing moves (no auto_reassign): the sessions are
    // still the therapist's, so their clients hear the therapist is away.
    h.store.approve_time_off(&w.acting(w.admin), w.org, time_off.id, Some(w.cover)).await.unwrap();
    let [first, second] = by_client(&sessions);
    assert_eq!(
        w.news(&h).await,
        [
            vec![],
            vec![],
            vec![told("time_off_approved", None)],
            vec![told("coverage_assigned", None)],
            vec![],
            each("therapist_away", &first),
            each("therapist_away", &second),
        ]
    );
    let approved = w.the(&h, w.therapist, "time_off_approved", None).await;
    assert_eq!(approved.body, format!("Your time off (vacation) {DATES} is approved. Casey Cover covers for you."));
    let covering = w.the(&h, w.cover, "coverage_assigned", None).await;
    assert_eq!(covering.body, format!("A Person is away {DATES}; you are named as their cover."));
    let tuesday = w.the(&h, w.clients[0], "therapist_away", Some(sessions[0])).await;
    assert_eq!(tuesday.title, "Your therapist will be away");
    assert_eq!(
        tuesday.body,
        format!(
            "Your therapist is away {DATES}. Check-in on Tue 2 Mar 2027 at 10:00 EST may move to another therapist \
             or be cancelled; you will be told which."
        )
    );
}

async fn approval_with_auto_reassign_tells_everyone_on_each_moved_session(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    let sessions = w.five_sessions(&h).await;
    let time_off = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(true)).await.unwrap();
    w.news(&h).await;

    let approval = h.store.approve_time_off(&w.acting(w.admin), w.org, time_off.id, Some(w.cover)).await.unwrap();
    assert_eq!(approval.reassignment.unwrap().moved, sessions);
    let [first, second] = by_client(&sessions);
    let moved = each("session_reassigned", &sessions);
    assert_eq!(
        w.news(&h).await,
        [
            vec![],
            vec![],
            sorted([vec![told("time_off_approved", None)], moved.clone()].concat()),
            sorted([vec![told("coverage_assigned", None)], moved].concat()),
            vec![],
            each("session_reassigned", &first),
            each("session_reassigned", &second),
        ],
        "nobody hears their therapist is away: every session has cover"
    );
    let wednesday = w.the(&h, w.clients[1], "session_reassigned", Some(sessions[1])).await;
    assert_eq!(wednesday.title, "Your session has a new therapist");
    assert_eq!(wednesday.body, "Check-in on Wed 3 Mar 2027 at 10:00 EST is now with Casey Cover.");
    let wednesday = w.the(&h, w.cover, "session_reassigned", Some(sessions[1])).await;
    assert_eq!(wednesday.body, "Check-in on Wed 3 Mar 2027 at 10:00 EST, covering for A Person.");
    let wednesday = w.the(&h, w.therapist, "session_reassigned", Some(sessions[1])).await;
    assert_eq!(wednesday.body, "Check-in on Wed 3 Mar 2027 at 10:00 EST is now with Casey Cover while you are away.");
}

async fn a_clashing_auto_reassignment_tells_the_other_admins_cover_is_still_needed(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    let sessions = w.five_sessions(&h).await;
    // The cover is busy over Thursday's session.
    let clash = one_on_one(w.cover, w.clients[1], slot("2027-03-04T15:30:00Z", 30));
    h.store.create_session(&AuditCtx::operator(), w.org, clash).await.unwrap();
    let time_off = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(true)).await.unwrap();
    w.news(&h).await;

    let approval = h.store.approve_time_off(&w.acting(w.admin), w.org, time_off.id, Some(w.cover)).await.unwrap();
    assert!(approval.reassignment.unwrap().moved.is_empty());
    let [first, second] = by_client(&sessions);
    assert_eq!(
        w.news(&h).await,
        [
            vec![],
            vec![told("coverage_needed", None)],
            vec![told("time_off_approved", None)],
            vec![told("coverage_assigned", None)],
            vec![],
            each("therapist_away", &first),
            each("therapist_away", &second),
        ]
    );
    let needed = w.the(&h, w.admin2, "coverage_needed", None).await;
    assert_eq!(needed.title, "Cover is still needed");
    assert_eq!(
        needed.body,
        format!(
            "A Person's time off {DATES} is approved, but Casey Cover is busy during some of its sessions, so \
             nothing was moved; 5 sessions still need cover."
        )
    );
}

async fn denial_and_withdrawal_tell_the_other_side(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    let first = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    w.news(&h).await;

    // Denied: the therapist hears why.
    h.store.deny_time_off(&w.acting(w.admin), w.org, first.id, "Clinic is short-staffed".into()).await.unwrap();
    let denied = vec![told("time_off_denied", None)];
    assert_eq!(w.news(&h).await, [vec![], vec![], denied, vec![], vec![], vec![], vec![]]);
    let denial = w.the(&h, w.therapist, "time_off_denied", None).await;
    assert_eq!(denial.title, "Your time-off request was denied");
    assert_eq!(denial.body, format!("Your time off (vacation) {DATES} was denied: Clinic is short-staffed"));

    // Withdrawn by the therapist: the admins hear.
    let second = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    w.news(&h).await;
    h.store.cancel_time_off(&w.acting(w.therapist), w.org, second.id).await.unwrap();
    let withdrawn = vec![told("time_off_cancelled", None)];
    assert_eq!(w.news(&h).await, [withdrawn.clone(), withdrawn.clone(), vec![], vec![], vec![], vec![], vec![]]);
    let note = w.the(&h, w.admin, "time_off_cancelled", None).await;
    assert_eq!(note.body, format!("A Person withdrew their request for time off (vacation) {DATES}."));

    // Withdrawn by an admin: the therapist hears.
    let third = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    w.news(&h).await;
    h.store.cancel_time_off(&w.acting(w.admin2), w.org, third.id).await.unwrap();
    assert_eq!(w.news(&h).await, [vec![], vec![], withdrawn, vec![], vec![], vec![], vec![]]);
    let note = w.the(&h, w.therapist, "time_off_cancelled", None).await;
    assert_eq!(note.title, "Your time-off request was withdrawn");

    // A refused step tells nobody.
    let refused = h.store.deny_time_off(&w.acting(w.admin), w.org, third.id, "late".into()).await;
    assert_eq!(conflict_code(&refused), Some("illegal_transition"));
    assert_eq!(w.news(&h).await, vec![Vec::new(); 7]);
}

async fn reassigning_tells_each_moved_sessions_people_and_a_refused_one_tells_nobody(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    let sessions = w.five_sessions(&h).await;
    let busy = h.person(w.org, "busy@n.example", Role::Therapist).await.id;
    let clash = one_on_one(busy, w.clients[0], slot("2027-03-05T15:00:00Z", 50));
    h.store.create_session(&AuditCtx::operator(), w.org, clash).await.unwrap();
    let time_off = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    h.store.approve_time_off(&w.acting(w.admin), w.org, time_off.id, None).await.unwrap();
    w.news(&h).await;

    let refused = h.store.reassign_affected(&w.acting(w.admin), w.org, time_off.id, busy).await;
    assert_eq!(conflict_code(&refused), Some("scheduling_conflict"));
    assert_eq!(w.news(&h).await, vec![Vec::new(); 7], "a refused reassignment writes nothing");
    let busy_news = h.store.notifications(w.org, busy, false, 10).await.unwrap();
    assert!(busy_news.iter().all(|n| n.kind == "session_booked"), "only their own booking: {busy_news:?}");

    let moved = h.store.reassign_affected(&w.acting(w.admin), w.org, time_off.id, w.cover).await.unwrap();
    assert_eq!(moved.moved, sessions);
    let [first, second] = by_client(&sessions);
    let each_session = each("session_reassigned", &sessions);
    assert_eq!(
        w.news(&h).await,
        [
            vec![],
            vec![],
            each_session.clone(),
            each_session,
            vec![],
            each("session_reassigned", &first),
            each("session_reassigned", &second),
        ]
    );
}

async fn cancelling_affected_sessions_tells_their_clients_and_co_therapists_why(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    let sessions = w.five_sessions(&h).await;
    // A group session the therapist co-facilitates with the cover, with
    // both clients seated.
    let mut group = one_on_one(w.therapist, w.clients[0], slot("2027-03-02T18:00:00Z", 90));
    group.kind = SessionKind::Group;
    group.capacity = 6;
    group.therapist_ids = vec![w.therapist, w.cover];
    group.client_ids = w.clients.to_vec();
    group.group_id = Some(h.group(w.org, vec![w.therapist, w.cover]).await);
    let group = h.store.create_session(&AuditCtx::operator(), w.org, group).await.unwrap().id;
    let time_off = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    h.store.approve_time_off(&w.acting(w.admin), w.org, time_off.id, None).await.unwrap();
    w.news(&h).await;

    let cancelled =
        h.store.cancel_affected(&w.acting(w.admin), w.org, time_off.id, "Therapist on leave".into()).await.unwrap();
    assert_eq!(cancelled.len(), 6);
    let [first, second] = by_client(&sessions);
    assert_eq!(
        w.news(&h).await,
        [
            vec![],
            vec![],
            vec![],
            vec![told("session_cancelled", Some(group))],
            vec![],
            sorted(each("session_cancelled", &[first, vec![group]].concat())),
            sorted(each("session_cancelled", &[second, vec![group]].concat())),
        ],
        "the clients and the co-therapist hear; the therapist away and the admin who cancelled do not"
    );
    let wednesday = w.the(&h, w.clients[1], "session_cancelled", Some(sessions[1])).await;
    assert_eq!(wednesday.title, "A session was cancelled");
    assert_eq!(wednesday.body, "Check-in on Wed 3 Mar, 10:00 EST is cancelled: Therapist on leave");
}

async fn changing_someone_elses_working_hours_tells_them(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    w.news(&h).await;

    h.store.set_availability(&w.acting(w.therapist), w.org, w.therapist, office_hours()).await.unwrap();
    assert_eq!(w.news(&h).await, vec![Vec::new(); 7], "their own change tells nobody");

    let changed = vec![told("availability_changed", None)];
    h.store.set_availability(&w.acting(w.admin), w.org, w.therapist, office_hours()).await.unwrap();
    assert_eq!(w.news(&h).await, [vec![], vec![], changed.clone(), vec![], vec![], vec![], vec![]]);
    let notice = w.the(&h, w.therapist, "availability_changed", None).await;
    assert_eq!(notice.title, "Your working hours were changed");
    assert_eq!(notice.body, "Your weekly working hours were replaced: 10 windows a week, in America/New_York.");

    h.store.set_availability(&w.acting(w.moderator), w.org, w.cover, office_hours()).await.unwrap();
    assert_eq!(w.news(&h).await, [vec![], vec![], vec![], changed, vec![], vec![], vec![]]);
}

async fn each_organisation_hears_only_of_its_own_time_off(backend: Backend) {
    let h = Harness::new(backend).await;
    let w = World::new(&h).await;
    let [b_admin, b_therapist, b_admin2, b_client] = w.outsiders[..] else { panic!("four outsiders") };
    let kinds = |org: OrgId, person: PersonId| {
        let store = h.store.clone();
        async move {
            let inbox = store.notifications(org, person, false, 100).await.unwrap();
            inbox.into_iter().map(|n| n.kind).collect::<Vec<_>>()
        }
    };
    let theirs = NewTimeOff { therapist_id: b_therapist, ..w.request(false) };
    let theirs = h.store.request_time_off(&w.acting(b_therapist), w.other_org, theirs).await.unwrap();
    h.store.approve_time_off(&w.acting(b_admin), w.other_org, theirs.id, None).await.unwrap();
    let ours = h.store.request_time_off(&w.acting(w.therapist), w.org, w.request(false)).await.unwrap();
    h.store.deny_time_off(&w.acting(w.admin), w.org, ours.id, "No".into()).await.unwrap();

    assert_eq!(kinds(w.other_org, b_admin).await, ["time_off_requested"]);
    assert_eq!(kinds(w.other_org, b_admin2).await, ["time_off_requested"]);
    assert_eq!(kinds(w.other_org, b_therapist).await, ["time_off_approved"]);
    assert!(kinds(w.other_org, b_client).await.is_empty());
    assert_eq!(kinds(w.org, w.admin).await, ["time_off_requested"]);
    assert_eq!(kinds(w.org, w.admin2).await, ["time_off_requested"]);
    assert_eq!(kinds(w.org, w.therapist).await, ["time_off_denied"]);
    for person in [w.cover, w.moderator, w.clients[0], w.clients[1]] {
        assert!(kinds(w.org, person).await.is_empty());
    }
    // An inbox is read within one organisation: another's id finds nothing.
    assert!(kinds(w.org, b_admin).await.is_empty());
    assert!(kinds(w.other_org, w.admin).await.is_empty());
}
