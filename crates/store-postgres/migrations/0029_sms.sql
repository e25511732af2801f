-- Text messages through an HTTP gateway, behind the same outbox as e-mail:
-- `sms` joins the channels a delivery and a person's choice may name, and a
-- person's account keeps the number texts go to (E.164, checked before it
-- is stored), beside the zone their messages use.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check CHECK (channel IN ('email', 'sms'));
ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_channel_check;
ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_channel_check
    CHECK (channel IN ('email', 'sms'));
ALTER TABLE notification_settings ADD COLUMN phone text;

-- An organisation's list of messages also reads the e-mail of its
-- invitations to join, found by organisation.
CREATE INDEX account_mail_by_org ON account_mail (invitation_org, created_at) WHERE invitation_org IS NOT NULL;
