//! Storage for Circles.
//!
//! [`Store`] is the whole persistence surface, split into one trait per
//! resource. Each method is one use case and runs as one transaction: the
//! change, its audit events and any jobs it schedules commit together or not
//! at all. Every method that touches tenant data takes the organisation id.
//!
//! There is one implementation, [`sql::SqlStore`], written once in portable
//! SQL over the [`sql::db::Backend`] seam; the `circles-store-sqlite` and
//! `circles-store-postgres` crates provide the two backends.

mod account_mail_store;
mod checkin_store;
mod contested;
pub mod error;
mod feed_store;
mod key_store;
pub mod keyring;
pub mod model;
pub mod sql;
mod statistics_store;
mod unique;
mod waitlist_store;
mod webhook_store;

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::attendance::MemberStats;
use circles_domain::authz::PeopleScope;
use circles_domain::availability::WeeklyAvailability;
use circles_domain::ids::{
    AccountId, DeliveryId, GroupId, HoldId, InvitationId, MembershipId, NotificationId, OrgId, PersonId, SessionId,
    TimeOffId, TokenId,
};
use circles_domain::input::Email;
use circles_domain::interval::Interval;
use circles_domain::reminder::ReminderOffsets;
use circles_domain::session::{Modality, NotificationKind};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

pub use account_mail_store::AccountMailStore;
pub use checkin_store::{CheckInAnswerStore, CheckInHistoryStore, CheckInStore, CheckInWindowStore};
pub use error::{Conflict, Result, StoreError};
pub use feed_store::FeedStore;
pub use key_store::{KeyStore, RotationReport};
use model::*;
pub use statistics_store::StatisticsStore;
pub use waitlist_store::{OfferLinkStore, OfferStore, WaitlistStore};
pub use webhook_store::WebhookStore;

/// Everything Circles keeps.
pub trait Store:
    AccountStore
    + OrgStore
    + TokenStore
    + IdempotencyStore
    + AuditStore
    + HealthStore
    + SessionStore
    + ImportStore
    + HoldStore
    + GroupStore
    + InvitationStore
    + SeatStore
    + SeatControlStore
    + FacilitationStore
    + NotificationStore
    + RosterStore
    + StatisticsStore
    + SeriesStore
    + AvailabilityStore
    + TimeOffStore
    + OrgInvitationStore
    + WaitlistStore
    + OfferStore
    + OfferLinkStore
    + DeliveryStore
    + EventStore
    + PresenceStore
    + CheckInStore
    + CheckInAnswerStore
    + CheckInHistoryStore
    + CheckInWindowStore
    + LabelStore
    + FeedStore
    + WebhookStore
    + KeyStore
    + AccountMailStore
    + ReminderStore
{
}

impl<T> Store for T where
    T: AccountStore
        + OrgStore
        + TokenStore
        + IdempotencyStore
        + AuditStore
        + HealthStore
        + SessionStore
        + ImportStore
        + HoldStore
        + GroupStore
        + InvitationStore
        + SeatStore
        + SeatControlStore
        + FacilitationStore
        + NotificationStore
        + RosterStore
        + StatisticsStore
        + SeriesStore
        + AvailabilityStore
        + TimeOffStore
        + OrgInvitationStore
        + WaitlistStore
        + OfferStore
        + OfferLinkStore
        + DeliveryStore
        + EventStore
        + PresenceStore
        + CheckInStore
        + CheckInAnswerStore
        + CheckInHistoryStore
        + CheckInWindowStore
        + LabelStore
        + FeedStore
        + WebhookStore
        + KeyStore
        + AccountMailStore
        + ReminderStore
{
}

#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<()>;
    /// SQL statements run through this store so far, for tests and
    /// benchmarks that check what a use case costs.
    fn statements_run(&self) -> u64;
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, ctx: &AuditCtx, input: NewAccount) -> Result<Account>;
    async fn account(&self, id: AccountId) -> Result<Account>;
    async fn credentials(&self, email: &Email) -> Result<Option<Credentials>>;
    /// Records a login attempt in the platform audit chain.
    async fn record_login_failure(&self, ctx: &AuditCtx, email: &Email) -> Result<()>;
    /// Sets the password and ends the account's login sessions, and its API
    /// tokens too when `revoke_api_tokens`.
    async fn set_password(
        &self,
        ctx: &AuditCtx,
        email: &Email,
        password_hash: String,
        revoke_api_tokens: bool,
    ) -> Result<PasswordReset>;
    /// Every organisation the account belongs to, with its role there.
    async fn memberships(&self, account: AccountId) -> Result<Vec<Membership>>;
    /// The frame of a page for `person` (the account's person in `org`), in
    /// one read: unread notifications counted up to `unread_cap`.
    async fn page_frame(&self, account: AccountId, org: OrgId, person: PersonId, unread_cap: u64) -> Result<PageFrame>;
}

#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates the organisation with `input.admin` as its first admin.
    async fn create_organisation(&self, ctx: &AuditCtx, input: NewOrganisation) -> Result<(Organisation, Person)>;
    async fn organisation(&self, org: OrgId) -> Result<Organisation>;
    /// The caller's membership of `org`, or `None` if they are not in it.
    async fn membership(&self, account: AccountId, org: OrgId) -> Result<Option<Membership>>;
    /// Adds a person, creating their account when the e-mail is new and
    /// linking an existing one: the operator's way (command line, demo).
    async fn add_person(&self, ctx: &AuditCtx, org: OrgId, input: NewPerson) -> Result<Person>;
    /// A member's way to add someone: a new e-mail gets an account and joins
    /// at once; an existing account is only invited (`ctx.person_id` invites)
    /// and joins when it accepts. The answer is the same either way: the
    /// typed name and address, never the account's own, and `password` is
    /// ignored for an existing account.
    async fn add_or_invite_person(&self, ctx: &AuditCtx, org: OrgId, input: NewPerson) -> Result<Person>;
    /// The people `viewer` finds under `scope`, with the unanswered
    /// invitations when the scope is everyone.
    async fn list_people(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        role: Option<Role>,
        scope: PeopleScope,
        viewer: PersonId,
    ) -> Result<Vec<Person>> {
        self.people_page(ctx, org, role, scope, viewer, Keyset::all()).await
    }
    /// A page of [`OrgStore::list_people`], by name (bytewise) then id.
    async fn people_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        role: Option<Role>,
        scope: PeopleScope,
        viewer: PersonId,
        page: Keyset<(String, PersonId)>,
    ) -> Result<Vec<Person>>;
    /// An invitation not (yet) accepted, shown as the person it invites.
    async fn invited_person(&self, org: OrgId, id: PersonId) -> Result<Option<Person>>;
    /// Whether `therapist` has a session, a hold or a group they facilitate
    /// with `client` (not audited: it decides access, it shows nothing).
    async fn serves(&self, org: OrgId, therapist: PersonId, client: PersonId) -> Result<bool>;
    /// One person; reading a client's record is audited.
    async fn person(&self, ctx: &AuditCtx, org: OrgId, id: PersonId) -> Result<Person>;
    /// A person's role, to decide whether the caller may read them (not
    /// audited: it reveals nothing about the person's record).
    async fn person_role(&self, org: OrgId, id: PersonId) -> Result<Option<Role>>;
    /// Whether attendance recorded more than 30 days late is refused.
    async fn set_refuse_late_attendance(&self, ctx: &AuditCtx, org: OrgId, refuse: bool) -> Result<bool>;
    /// Gives a member another role (audited with the old and new one).
    async fn change_role(&self, ctx: &AuditCtx, org: OrgId, id: PersonId, role: Role) -> Result<Person>;
    /// The organisation's own rules as they stand (see `set_refuse_late_attendance`).
    async fn refuses_late_attendance(&self, org: OrgId) -> Result<bool>;
}

/// Invitations to join an organisation, answered by the invited account.
#[async_trait]
pub trait OrgInvitationStore: Send + Sync {
    /// The account's invitations waiting for an answer.
    async fn org_invitations(
        &self,
        account: AccountId,
        page: Keyset<(Timestamp, PersonId)>,
    ) -> Result<Vec<OrgInvitation>>;
    /// Accepts (the account joins with the invited role) or declines one of
    /// the account's pending invitations; audited in the organisation.
    async fn answer_org_invitation(
        &self,
        ctx: &AuditCtx,
        account: AccountId,
        id: PersonId,
        accept: bool,
    ) -> Result<(OrgInvitation, Option<Membership>)>;
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn create_token(&self, ctx: &AuditCtx, input: NewToken) -> Result<TokenInfo>;
    /// The live token with this hash, if any.
    async fn authenticate(&self, token_hash: [u8; 32], now: Timestamp) -> Result<Option<Principal>>;
    async fn list_tokens(&self, account: AccountId, page: Keyset<(Timestamp, TokenId)>) -> Result<Vec<TokenInfo>>;
    async fn revoke_token(&self, ctx: &AuditCtx, account: AccountId, token: TokenId) -> Result<()>;
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for a request whose content hashes to `fingerprint`.
    async fn idempotency_begin(&self, account: AccountId, key: &str, fingerprint: [u8; 32])
    -> Result<IdempotencyStart>;
    /// Keeps the response so a retry with the same key replays it.
    async fn idempotency_finish(&self, account: AccountId, key: &str, response: StoredResponse) -> Result<()>;
    /// Forgets the key (the request failed in a way worth retrying).
    async fn idempotency_release(&self, account: AccountId, key: &str) -> Result<()>;
    /// Deletes keys older than the retention period; returns how many.
    async fn purge_idempotency_keys(&self, older_than: Timestamp) -> Result<u64>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Recomputes the hash chain of `org` (or of every chain) and reports the
    /// first broken link of each.
    async fn verify_audit(&self, org: Option<OrgId>) -> Result<Vec<ChainReport>>;
    /// Recent events of an organisation, newest first.
    async fn audit_events(&self, org: OrgId, subject: Option<PersonId>, limit: i64) -> Result<Vec<AuditEntry>> {
        self.audit_page(org, subject, Keyset::first(limit)).await
    }
    /// A page of an organisation's events, newest first: those that
    /// arrived before `page.after`.
    async fn audit_page(&self, org: OrgId, subject: Option<PersonId>, page: Keyset<i64>) -> Result<Vec<AuditEntry>>;
    /// Links every event waiting for it into its organisation's chain;
    /// returns how many. Use cases record events unsealed so that writers
    /// never queue for a chain head; this runs right after them.
    async fn seal_audit(&self) -> Result<u64>;
    /// Resolves once a write has committed since the last call: its events
    /// may be waiting to be sealed.
    async fn audit_written(&self);
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Books a session: its therapists (accepted at once, or invited) and
    /// client seats, claiming everyone's time. A clash is a `scheduling_conflict`
    /// listing the clashes and the next free start times.
    async fn create_session(&self, ctx: &AuditCtx, org: OrgId, input: NewSession) -> Result<Session>;
    /// One session as `view` may see it; staff reads of seats are audited.
    async fn session(&self, ctx: &AuditCtx, org: OrgId, id: SessionId, view: SessionView) -> Result<Session>;
    /// Who is on a session (not audited: it decides access, it shows nothing).
    async fn session_people(&self, org: OrgId, id: SessionId) -> Result<SessionPeople>;
    /// Sessions matching `filter`, each with only its own seat for a client
    /// participant filter, and no seats otherwise.
    async fn list_sessions(&self, org: OrgId, filter: SessionFilter) -> Result<Vec<Session>>;
    /// Cancels a session, freeing everyone's time at once.
    async fn cancel_session(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: SessionId,
        reason: String,
        by: Canceller,
    ) -> Result<Session>;
    /// One person's sessions in `[from, to)`, sorted by start then session
    /// id; cancelled ones too (the person's place as it was) when
    /// `include_cancelled`.
    async fn schedule(
        &self,
        org: OrgId,
        person: PersonId,
        from: Timestamp,
        to: Timestamp,
        include_cancelled: bool,
    ) -> Result<Vec<ScheduleEntry>> {
        let window = ScheduleWindow { from, to, include_cancelled };
        self.schedule_page(org, person, window, Keyset::all()).await
    }
    /// A page of [`Self::schedule`]: the entries after `page.after`.
    async fn schedule_page(
        &self,
        org: OrgId,
        person: PersonId,
        window: ScheduleWindow,
        page: Keyset<(Timestamp, SessionId)>,
    ) -> Result<Vec<ScheduleEntry>>;
    /// An account's sessions across every organisation it belongs to.
    async fn account_schedule(
        &self,
        account: AccountId,
        from: Timestamp,
        to: Timestamp,
        include_cancelled: bool,
    ) -> Result<Vec<ScheduleEntry>> {
        let window = ScheduleWindow { from, to, include_cancelled };
        self.account_schedule_page(account, window, Keyset::all()).await
    }
    /// A page of [`Self::account_schedule`]: the entries after `page.after`.
    async fn account_schedule_page(
        &self,
        account: AccountId,
        window: ScheduleWindow,
        page: Keyset<(Timestamp, SessionId)>,
    ) -> Result<Vec<ScheduleEntry>>;
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Books many one-on-one appointments at once, all or nothing: checked
    /// for clashes with everyone's busy time and with each other (not
    /// against working hours: they record what was agreed elsewhere), and
    /// written a chunk of rows per statement. Returns how many.
    async fn import_appointments(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        appointments: Vec<ImportedAppointment>,
    ) -> Result<u64>;
}

#[async_trait]
pub trait HoldStore: Send + Sync {
    /// Reserves every slot for the therapist and client, or none of them.
    async fn create_hold(&self, ctx: &AuditCtx, org: OrgId, input: NewHold) -> Result<Hold>;
    async fn hold(&self, org: OrgId, id: HoldId) -> Result<Hold>;
    /// Turns a live hold into sessions, atomically.
    async fn confirm_hold(&self, ctx: &AuditCtx, org: OrgId, id: HoldId) -> Result<Vec<Session>>;
    /// Gives the held time back.
    async fn release_hold(&self, ctx: &AuditCtx, org: OrgId, id: HoldId) -> Result<Hold>;
    /// Marks holds past their expiry as expired and frees their rows, in
    /// every organisation; returns how many.
    async fn expire_holds(&self) -> Result<u64>;
    /// The times of `therapist` held by live holds, starting in
    /// `[from, to)`, earliest first: what the free-slot search leaves out
    /// because a hold has it, not a session.
    async fn held_times(
        &self,
        org: OrgId,
        therapist: PersonId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Interval>>;
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    async fn create_group(&self, ctx: &AuditCtx, org: OrgId, input: NewGroup) -> Result<Group>;
    async fn group(&self, org: OrgId, id: GroupId) -> Result<Group>;
    /// Groups of the organisation; with `visible_to`, only those the person
    /// is staff of or a current member of.
    async fn list_groups(
        &self,
        org: OrgId,
        visible_to: Option<PersonId>,
        include_archived: bool,
    ) -> Result<Vec<Group>> {
        self.groups_page(org, visible_to, include_archived, Keyset::all()).await
    }
    /// A page of [`GroupStore::list_groups`], by name (bytewise) then id.
    async fn groups_page(
        &self,
        org: OrgId,
        visible_to: Option<PersonId>,
        include_archived: bool,
        page: Keyset<(String, GroupId)>,
    ) -> Result<Vec<Group>>;
    async fn update_group(&self, ctx: &AuditCtx, org: OrgId, id: GroupId, update: GroupUpdate) -> Result<Group>;
    /// Archives a group (clinical data is never deleted).
    async fn archive_group(&self, ctx: &AuditCtx, org: OrgId, id: GroupId) -> Result<Group>;
    /// The group and how `person` relates to it.
    async fn group_standing(&self, org: OrgId, id: GroupId, person: PersonId) -> Result<GroupStanding>;
    /// Enrols a client: pending screening, waitlisted or active. A closed
    /// group refuses (`group_closed`) once its first session has started,
    /// unless `admin_override` gives an admin's reason (audited).
    async fn add_member(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        client: PersonId,
        join_date: Date,
        admin_override: Option<&str>,
    ) -> Result<GroupMember>;
    /// Every membership of the group, past and current (an audited read).
    async fn members(&self, ctx: &AuditCtx, org: OrgId, group: GroupId) -> Result<Vec<GroupMember>> {
        self.members_page(ctx, org, group, Keyset::all()).await
    }
    /// A page of [`GroupStore::members`], oldest membership first; only the
    /// memberships on the page are audited as read.
    async fn members_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        page: Keyset<(Timestamp, MembershipId)>,
    ) -> Result<Vec<GroupMember>>;
}

#[async_trait]
pub trait InvitationStore: Send + Sync {
    /// A therapist's invitations, soonest session first.
    async fn invitations(&self, org: OrgId, therapist: PersonId, filter: InvitationFilter) -> Result<Vec<Invitation>>;
    /// Accepts (claiming the therapist's time) or declines. When every
    /// invitation is accepted the session becomes scheduled.
    async fn respond_invitation(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        invitation: InvitationId,
        therapist: PersonId,
        response: Response,
        message: Option<String>,
    ) -> Result<Invitation>;
    /// Invites another facilitator, optionally replacing a declined invitation.
    async fn invite_therapist(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        therapist: PersonId,
        replaces: Option<InvitationId>,
    ) -> Result<Session>;
    /// Withdraws an invitation (freeing the therapist if they had accepted).
    async fn withdraw_invitation(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        invitation: InvitationId,
    ) -> Result<Session>;
    /// A moderator lets a member's proposal go to its therapists.
    async fn approve_proposal(&self, ctx: &AuditCtx, org: OrgId, session: SessionId) -> Result<Session>;
    /// A moderator turns a member's proposal down; it is cancelled.
    async fn reject_proposal(&self, ctx: &AuditCtx, org: OrgId, session: SessionId, reason: String) -> Result<Session>;
}

#[async_trait]
pub trait SeatStore: Send + Sync {
    /// Takes a seat if one is free and the client's time is, else 409.
    async fn join_session(&self, ctx: &AuditCtx, org: OrgId, session: SessionId, client: PersonId) -> Result<Seat>;
    /// Gives a seat up, freeing the client's time.
    async fn leave_session(&self, ctx: &AuditCtx, org: OrgId, session: SessionId, client: PersonId) -> Result<Seat>;
    /// Marks attendance for several clients at once (all or nothing).
    async fn mark_attendance(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        marks: Vec<AttendanceMark>,
    ) -> Result<Vec<Seat>>;
    /// The attendance sheet: every seat on a session, whatever its status,
    /// with its marks, by client name (bytewise) then client id — the page
    /// after `page.after`. An audited read of each client listed.
    async fn attendance_sheet(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        page: Keyset<(String, PersonId)>,
    ) -> Result<Vec<Seat>>;
}

/// Staff control of one seat (issue 11 item 4): the group's moderators,
/// facilitators and the org's admins seat a given client, drop one with a
/// reason, or confirm one; a client confirms their own.
#[async_trait]
pub trait SeatControlStore: Send + Sync {
    /// Seats `client`, an active member of the session's group, on a
    /// scheduled or running group session (capacity and the client's
    /// calendar permitting); the client is told.
    async fn add_seat(&self, ctx: &AuditCtx, org: OrgId, session: SessionId, client: PersonId) -> Result<Seat>;
    /// Gives up `client`'s seat as `CANCELLED_BY_PROVIDER`, freeing their
    /// time; the client is told why.
    async fn drop_seat(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        client: PersonId,
        reason: String,
    ) -> Result<Seat>;
    /// Marks a `REGISTERED` seat `CONFIRMED` (a confirmed seat stays so).
    async fn confirm_seat(&self, ctx: &AuditCtx, org: OrgId, session: SessionId, client: PersonId) -> Result<Seat>;
}

/// A therapist's own step back from a group session they accepted.
#[async_trait]
pub trait FacilitationStore: Send + Sync {
    /// `therapist` withdraws from a session they accepted before it starts:
    /// their time is free, and a scheduled session left without an accepted
    /// therapist is proposed again. The group's moderators (and the
    /// session's creator) are told.
    async fn withdraw_facilitation(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        therapist: PersonId,
    ) -> Result<Session>;
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// A person's inbox, newest first.
    async fn notifications(
        &self,
        org: OrgId,
        person: PersonId,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        self.notification_page(org, person, unread_only, None, limit).await
    }
    /// The inbox from after `after` (created, then id, newest first): the
    /// page after a cursor.
    async fn notification_page(
        &self,
        org: OrgId,
        person: PersonId,
        unread_only: bool,
        after: Option<(Timestamp, NotificationId)>,
        limit: i64,
    ) -> Result<Vec<Notification>>;
    async fn mark_notification_read(&self, org: OrgId, person: PersonId, id: NotificationId) -> Result<Notification>;
    async fn mark_all_notifications_read(&self, org: OrgId, person: PersonId) -> Result<u64>;
}

#[async_trait]
pub trait ReminderStore: Send + Sync {
    /// Reminds therapists and seated clients of the sessions an offset of
    /// their organisation has come for: once per session and offset, across
    /// restarts and servers (the record of an offset is the claim); returns
    /// how many sessions were reminded.
    async fn send_reminders(&self) -> Result<u64>;
    /// The organisation's reminder offsets (the default unless it chose).
    async fn reminder_offsets(&self, org: OrgId) -> Result<ReminderOffsets>;
    /// Sets them (audited); sessions already reminded at an offset are not
    /// reminded at it again.
    async fn set_reminder_offsets(&self, ctx: &AuditCtx, org: OrgId, offsets: &ReminderOffsets) -> Result<()>;
}

#[async_trait]
pub trait RosterStore: Send + Sync {
    /// Records screening, a leave date or a status change. Leaving does not
    /// cancel future seats (the answer says how many remain); a freed place
    /// goes to the longest-waiting member of the waitlist.
    async fn update_member(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        member: MembershipId,
        change: MembershipChange,
    ) -> Result<MembershipUpdate>;
    /// Cancels the seats a member who left still holds on or after their
    /// leave date; returns how many.
    async fn cancel_future_seats(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        member: MembershipId,
    ) -> Result<u64>;
    /// Seats an active member on the group's upcoming sessions, checking
    /// their calendar for each.
    async fn seat_in_upcoming(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        member: MembershipId,
    ) -> Result<SeatingReport>;
    /// Every membership period of the account's client records across
    /// organisations, past ones included, each with its statistics: what a
    /// client reads about themselves.
    async fn account_memberships(
        &self,
        account: AccountId,
        page: Keyset<(Timestamp, MembershipId)>,
    ) -> Result<Vec<OwnMembership>>;
    /// Applies departures whose leave date has come, in every organisation,
    /// and gives the freed places to waitlisted members; returns how many
    /// members left. Run by the frequent job; roster changes do the same
    /// for their group first, and reads derive the status meanwhile.
    async fn settle_departures(&self) -> Result<u64>;
    /// Whose membership this is (not audited: it decides access).
    async fn member_client(&self, org: OrgId, group: GroupId, member: MembershipId) -> Result<PersonId>;
    /// A member's attendance since joining (an audited read).
    async fn member_stats(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        member: MembershipId,
    ) -> Result<MemberStats>;
    async fn group_stats(&self, org: OrgId, group: GroupId) -> Result<GroupReport>;
}

#[async_trait]
pub trait SeriesStore: Send + Sync {
    /// One session per occurrence of the group's recurrence in
    /// `[from, to]` (local dates), with a seat for every member active on
    /// that date. Occurrences generated before are not made again. When a
    /// facilitator is busy the whole range is refused, unless
    /// `skip_conflicts`, which makes the rest and lists what was skipped.
    async fn generate_sessions(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        from: Date,
        to: Date,
        skip_conflicts: bool,
    ) -> Result<Generation>;
    /// Moves one session (a generated occurrence keeps its recurrence id).
    async fn reschedule_session(&self, ctx: &AuditCtx, org: OrgId, session: SessionId, to: Interval)
    -> Result<Session>;
    /// Changes the group's series from one date on: later occurrences
    /// already generated move with it (all of them or none); earlier ones
    /// never change.
    async fn split_series(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        change: SeriesChange,
    ) -> Result<SplitOutcome>;
}

#[async_trait]
pub trait AvailabilityStore: Send + Sync {
    /// Replaces a therapist's whole week at once. An empty list of rules
    /// clears it: a therapist without rules may be booked at any time.
    async fn set_availability(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        therapist: PersonId,
        week: WeeklyAvailability,
    ) -> Result<TherapistWeek>;
    /// A therapist's week (the organisation's zone and no rules if never
    /// set); `NotFound` unless they are a therapist of `org`.
    async fn availability(&self, org: OrgId, therapist: PersonId) -> Result<TherapistWeek>;
    /// One page of a search for free start times over many therapists, read
    /// in a number of statements that does not depend on how many.
    async fn search_availability(&self, org: OrgId, search: AvailabilitySearch) -> Result<SearchPage>;
    /// The therapists free for the whole of `slot`, in working hours
    /// offering `modality` (either, if `None`).
    async fn free_at(&self, org: OrgId, slot: Interval, modality: Option<Modality>) -> Result<Vec<PersonId>>;
}

#[async_trait]
pub trait TimeOffStore: Send + Sync {
    /// Asks for time off. An open (pending or approved) request of the same
    /// therapist overlapping it is a `time_off_overlap` conflict; sessions
    /// in the range never are.
    async fn request_time_off(&self, ctx: &AuditCtx, org: OrgId, input: NewTimeOff) -> Result<TimeOff>;
    async fn time_off(&self, org: OrgId, id: TimeOffId) -> Result<TimeOff>;
    /// Newest first.
    async fn list_time_off(&self, org: OrgId, filter: TimeOffFilter) -> Result<Vec<TimeOff>>;
    /// The sessions the therapist is still on in the range, by start then id.
    async fn affected_sessions(&self, org: OrgId, id: TimeOffId) -> Result<Vec<AffectedSession>> {
        self.affected_page(org, id, Keyset::all()).await
    }
    /// A page of [`Self::affected_sessions`]: those after `page.after`.
    async fn affected_page(
        &self,
        org: OrgId,
        id: TimeOffId,
        page: Keyset<(Timestamp, SessionId)>,
    ) -> Result<Vec<AffectedSession>>;
    /// Approves a pending request, recording `coverage` (another therapist).
    /// With `auto_reassign` and a coverage therapist, the affected sessions
    /// move to them in the same transaction if they are free for all of
    /// them; if not, the approval stands and the clashes are reported.
    async fn approve_time_off(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: TimeOffId,
        coverage: Option<PersonId>,
    ) -> Result<TimeOffApproval>;
    async fn deny_time_off(&self, ctx: &AuditCtx, org: OrgId, id: TimeOffId, reason: String) -> Result<TimeOff>;
    /// Withdraws a pending request, or approved time off (its time is free again).
    async fn cancel_time_off(&self, ctx: &AuditCtx, org: OrgId, id: TimeOffId) -> Result<TimeOff>;
    /// Therapists who could cover the affected sessions, best first.
    async fn coverage(&self, org: OrgId, id: TimeOffId) -> Result<Vec<CoverageCandidate>>;
    /// Moves every affected session of approved time off to `coverage`, or
    /// none: a clash is a `scheduling_conflict`.
    async fn reassign_affected(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: TimeOffId,
        coverage: PersonId,
    ) -> Result<Reassignment>;
    /// Cancels every affected session of approved time off, freeing
    /// everyone's time; returns them as cancelled.
    async fn cancel_affected(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: TimeOffId,
        reason: String,
    ) -> Result<Vec<AffectedSession>>;
}

#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Claims up to `limit` due deliveries in every organisation for `lease`
    /// (after which another worker may claim them again), with what it
    /// takes to write each message. A message about a session is due only
    /// once `coalesce` has passed since its change; one replaced by a later
    /// message about the same session, or cancelling a session its recipient
    /// was never told of, is suppressed instead of returned.
    async fn claim_deliveries(
        &self,
        limit: u32,
        lease: SignedDuration,
        coalesce: SignedDuration,
    ) -> Result<Vec<OutboundMessage>>;
    /// Records how each claimed delivery went.
    async fn finish_deliveries(&self, outcomes: &[(OrgId, DeliveryId, DeliveryOutcome)]) -> Result<()>;
    /// When the next delivery falls due, if any waits.
    async fn next_delivery_due(&self, coalesce: SignedDuration) -> Result<Option<Timestamp>>;
    /// Resolves once a write has committed since the last call: deliveries
    /// may be waiting.
    async fn deliveries_waiting(&self);
    /// An organisation's deliveries, newest first.
    async fn deliveries(&self, org: OrgId, filter: DeliveryFilter) -> Result<Vec<Delivery>>;
    /// Sends a failed delivery again, with a fresh set of attempts.
    async fn retry_delivery(&self, ctx: &AuditCtx, org: OrgId, id: DeliveryId) -> Result<Delivery>;
    /// A person's delivery choices, defaults filled in.
    async fn preferences(&self, account: AccountId) -> Result<Preferences>;
    /// Replaces a person's delivery choices.
    async fn set_preferences(&self, ctx: &AuditCtx, account: AccountId, prefs: Preferences) -> Result<Preferences>;
    /// Records one-click unsubscribe links (only their tokens' hashes), each
    /// turning e-mail of a kind off for a person's account, in one
    /// transaction; per link, `false` (nothing recorded) when the person has
    /// no account to hold the choice.
    async fn create_unsubscribe_links(&self, links: &[NewUnsubscribeLink]) -> Result<Vec<bool>>;
    /// The kind of e-mail a link turns off, changing nothing; `NotFound`
    /// for an unknown link.
    async fn unsubscribe_link_kind(&self, token_hash: [u8; 32]) -> Result<NotificationKind>;
    /// Turns e-mail of the link's kind off for its account (audited) and
    /// returns the kind; `NotFound` for an unknown link.
    async fn unsubscribe(&self, token_hash: [u8; 32]) -> Result<NotificationKind>;
}

/// The live event log (see `sql::event_log` for how events are written).
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Every organisation's newest event number: what a server compares
    /// with what it has fanned out, across all organisations.
    async fn event_heads(&self) -> Result<Vec<(OrgId, i64)>>;
    /// `org`'s newest event number (0 before its first event).
    async fn event_head(&self, org: OrgId) -> Result<i64>;
    /// `org`'s events numbered in `(after, upto]`, oldest first, each with
    /// everyone who may see it: what a server fans out to its listeners.
    async fn events_between(&self, org: OrgId, after: i64, upto: i64) -> Result<Vec<Event>>;
    /// What `person` may see of `org`'s events after `after`, oldest first,
    /// at most `limit`: what a reconnecting listener missed.
    async fn events_for(&self, org: OrgId, person: PersonId, after: i64, limit: i64) -> Result<Vec<Event>>;
    /// Deletes events written before `before`; returns how many.
    async fn prune_events(&self, before: Timestamp) -> Result<u64>;
    /// Resolves after a write through this store commits (it may have
    /// written events).
    async fn write_committed(&self);
}

/// The words beside ids in what a person reads.
#[async_trait]
pub trait LabelStore: Send + Sync {
    /// The names of the people and groups and the titles of the sessions
    /// `mentions` holds, of organisation `org` only, in one read: views whose
    /// rows carry ids (holds, invitations, offers, free time, coverage) name
    /// them with one batch, never a look-up per row.
    async fn labels(&self, org: OrgId, mentions: Mentions) -> Result<Labels>;
}

/// Members present in a running session.
#[async_trait]
pub trait PresenceStore: Send + Sync {
    /// `client` checks in to a running session where they hold a seat;
    /// checking in again changes nothing.
    async fn check_in(&self, ctx: &AuditCtx, org: OrgId, session: SessionId, client: PersonId) -> Result<Presence>;
    /// Who checked in, earliest first, then by person id (an audited read).
    async fn presence(&self, ctx: &AuditCtx, org: OrgId, session: SessionId) -> Result<Vec<Presence>> {
        self.presence_page(ctx, org, session, Keyset::all()).await
    }
    /// A page of [`Self::presence`]: those after `page.after`; only they
    /// are audited as read.
    async fn presence_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        page: Keyset<(Timestamp, PersonId)>,
    ) -> Result<Vec<Presence>>;
}
