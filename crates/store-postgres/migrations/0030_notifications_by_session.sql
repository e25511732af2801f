-- A session's notices, oldest first: the delivery worker numbers each
-- calendar message (its SEQUENCE) by counting the session's earlier
-- calendar notices, for every message it claims. Without this index that
-- count read every notice of the organisation.
CREATE INDEX notifications_by_session ON notifications (org_id, session_id, created_at);
