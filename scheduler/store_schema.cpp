// The store's schema, as forward migrations (see internal/store_schema.h).
#include <string>

#include "internal/store_schema.h"

namespace convene::store_internal {

namespace {

// Each entry takes the schema from version (index) to (index + 1).
const char* const kMigrations[] = {
    // --- 1: definitions, revisions, audit ----------------------------------------
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('data_version', 0);

CREATE TABLE calendars (
  id       TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  builtin  TEXT,
  ics      TEXT              -- the ICS path as written in the imported file
);
CREATE TABLE calendar_rules (
  calendar         TEXT NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,
  position         INTEGER NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('fixed', 'nth', 'easter')),
  name             TEXT NOT NULL,
  month            INTEGER,
  day              INTEGER,
  weekday          INTEGER,  -- 0 = Sunday
  nth              INTEGER,
  offset_days      INTEGER,
  observe_weekend  INTEGER NOT NULL DEFAULT 0,
  observe_saturday INTEGER NOT NULL DEFAULT 1,
  every_years      INTEGER NOT NULL DEFAULT 1,
  since            INTEGER,
  until            INTEGER,
  PRIMARY KEY (calendar, position)
);
CREATE TABLE calendar_closures (
  calendar TEXT NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,
  origin   TEXT NOT NULL CHECK (origin IN ('file', 'ics')),  -- 'ics': read from the ICS file at import
  position INTEGER NOT NULL,
  name     TEXT NOT NULL,
  from_day TEXT NOT NULL,
  to_day   TEXT NOT NULL,
  PRIMARY KEY (calendar, origin, position)
);
CREATE TABLE communities (
  id          TEXT PRIMARY KEY,
  position    INTEGER NOT NULL,
  name        TEXT NOT NULL,
  description TEXT,
  timezone    TEXT NOT NULL,
  observes    TEXT NOT NULL DEFAULT '[]',  -- JSON array of calendar ids
  workweek    INTEGER NOT NULL             -- bit d = weekday d (Sunday 0)
);
CREATE TABLE series (
  id              TEXT PRIMARY KEY,
  community       TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
  position        INTEGER NOT NULL,
  title           TEXT NOT NULL,
  description     TEXT,
  start           TEXT NOT NULL,           -- local "YYYY-MM-DDTHH:MM"
  duration        INTEGER NOT NULL,        -- seconds
  rrule           TEXT,
  add_starts      TEXT NOT NULL DEFAULT '[]',
  except_starts   TEXT NOT NULL DEFAULT '[]',
  on_holiday      TEXT NOT NULL,
  observes        TEXT NOT NULL DEFAULT '[]',
  join_url        TEXT,
  location        TEXT,
  organizer_name  TEXT,
  organizer_email TEXT,
  presenter       TEXT,
  categories      TEXT NOT NULL DEFAULT '[]',
  continues       TEXT,
  created         INTEGER NOT NULL         -- Unix seconds: when the store first had it
);
CREATE INDEX series_community ON series (community, position);
CREATE TABLE overrides (
  series      TEXT NOT NULL REFERENCES series(id) ON DELETE CASCADE,
  occurrence  TEXT NOT NULL,
  position    INTEGER NOT NULL,
  move_to     TEXT,
  duration    INTEGER,
  cancel      INTEGER NOT NULL DEFAULT 0,
  title       TEXT,
  description TEXT,
  join_url    TEXT,
  location    TEXT,
  presenter   TEXT,
  agenda      TEXT,
  resources   TEXT NOT NULL DEFAULT '[]',  -- JSON [{"title","url"}]
  reason      TEXT,
  PRIMARY KEY (series, occurrence)
);
-- Revisions outlive the series they count (no foreign key): a series removed and
-- imported again continues its numbers.
CREATE TABLE revisions (
  series     TEXT NOT NULL,
  occurrence TEXT NOT NULL,               -- '' for the series itself
  sequence   INTEGER NOT NULL,
  modified   INTEGER NOT NULL,
  audit      INTEGER,
  PRIMARY KEY (series, occurrence)
) WITHOUT ROWID;
CREATE TABLE audit (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  series     TEXT,
  occurrence TEXT,
  summary    TEXT NOT NULL,
  reason     TEXT,
  before     TEXT NOT NULL,
  after      TEXT NOT NULL
);
CREATE INDEX audit_series ON audit (series);
CREATE TABLE audit_affected (
  audit      INTEGER NOT NULL REFERENCES audit(id) ON DELETE CASCADE,
  series     TEXT NOT NULL,
  occurrence TEXT NOT NULL,
  sequence   INTEGER NOT NULL,
  PRIMARY KEY (audit, series, occurrence)
);
CREATE INDEX audit_affected_series ON audit_affected (series);
)sql",
    // --- 2: members ---------------------------------------------------------------
    R"sql(
CREATE TABLE members (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL,
  email            TEXT NOT NULL,
  timezone         TEXT,
  reminder_offsets TEXT NOT NULL DEFAULT '[]',  -- JSON array of seconds before the start
  reminder_channel TEXT NOT NULL DEFAULT 'email',
  created          INTEGER NOT NULL
);
-- Only a SHA-256 of each token; `lookup` is its first 8 bytes, for the index.
CREATE TABLE member_tokens (
  member  TEXT PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
  lookup  INTEGER NOT NULL,
  hash    BLOB NOT NULL CHECK (length(hash) = 32),
  created INTEGER NOT NULL
);
CREATE INDEX member_tokens_lookup ON member_tokens (lookup);
CREATE TABLE subscriptions (
  member  TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  kind    TEXT NOT NULL CHECK (kind IN ('series', 'community')),
  target  TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (member, kind, target)
);
)sql",
    // --- 3: what a change names ------------------------------------------------------
    R"sql(
ALTER TABLE audit ADD COLUMN target TEXT;
CREATE INDEX audit_target ON audit (target);
)sql",
    // --- 4: a series' reminders ------------------------------------------------------
    R"sql(
ALTER TABLE series ADD COLUMN reminders TEXT NOT NULL DEFAULT '[]';  -- JSON array of seconds
)sql",
    // --- 5: change tracking (the change detector), import provenance, cancellations -----
    R"sql(
-- The change detector's fingerprint of what outputs show of the series (occurrence '')
-- or the occurrence, as of the last change; NULL for rows written before schema 5.
ALTER TABLE revisions ADD COLUMN fingerprint INTEGER;
-- 1 once the occurrence was live (took place) in a state the store recorded: members'
-- calendars may hold it, so when it no longer takes place it is shown as cancelled.
ALTER TABLE revisions ADD COLUMN was_live INTEGER NOT NULL DEFAULT 0;
UPDATE revisions SET was_live = 1 WHERE occurrence <> '' AND sequence > 0;
-- Per series: the last original day whose occurrences have revision rows (every one of
-- them, changed or not). Beyond it, occurrences have the series' revision.
CREATE TABLE coverage (
  series TEXT PRIMARY KEY,
  until  TEXT NOT NULL              -- "YYYY-MM-DD"
) WITHOUT ROWID;
-- What the last imported definitions file said (to_json), the base of the three-way
-- merge that keeps the changes made with the CLI when a file is imported again.
CREATE TABLE import_base (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  definitions TEXT NOT NULL,
  source      TEXT NOT NULL,
  audit       INTEGER
);
ALTER TABLE communities ADD COLUMN cancellations TEXT NOT NULL DEFAULT 'show';
)sql",
    // --- 6: invitations: targets, the mapping, the outbox, members' delivery ---------
    R"sql(
ALTER TABLE members ADD COLUMN delivery TEXT NOT NULL DEFAULT 'feed' CHECK (delivery IN ('feed', 'invite'));
CREATE TABLE targets (
  name         TEXT PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('email', 'caldav', 'google', 'graph')),
  settings     TEXT NOT NULL,             -- JSON object; secrets by reference or sealed
  communities  TEXT,                      -- JSON array of community ids; NULL: all
  created      INTEGER NOT NULL,
  last_attempt INTEGER,
  last_success INTEGER,
  last_error   TEXT NOT NULL DEFAULT '',
  failures     INTEGER NOT NULL DEFAULT 0
);
-- What each target was last given: a series (occurrence '') or one session of it, in a
-- shared event (copy '') or a member's copy (copy = the address).
CREATE TABLE remote_records (
  target     TEXT NOT NULL REFERENCES targets(name) ON DELETE CASCADE,
  series     TEXT NOT NULL,
  occurrence TEXT NOT NULL,               -- '' for the series itself
  copy       TEXT NOT NULL,
  remote_id  TEXT NOT NULL,
  etag       TEXT NOT NULL DEFAULT '',
  sequence   INTEGER NOT NULL,
  live       INTEGER NOT NULL,
  covers     TEXT NOT NULL DEFAULT '',    -- the series record: YYYY-MM-DD
  invitees   TEXT NOT NULL DEFAULT '[]',  -- the series record: JSON [{member, email, name}]
  generation INTEGER NOT NULL DEFAULT 0,
  title      TEXT NOT NULL DEFAULT '',    -- the series record: what a CANCEL names
  organizer  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (target, series, copy, occurrence)
) WITHOUT ROWID;
CREATE TABLE outbox (
  id          INTEGER PRIMARY KEY,
  key         TEXT NOT NULL UNIQUE,
  kind        TEXT NOT NULL,
  target      TEXT REFERENCES targets(name) ON DELETE CASCADE,
  member      TEXT NOT NULL DEFAULT '',
  series      TEXT NOT NULL DEFAULT '',
  occurrence  TEXT,
  recipient   TEXT NOT NULL,
  message_id  TEXT NOT NULL,
  payload     TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('planned', 'sending', 'sent', 'failed', 'withdrawn')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT NOT NULL DEFAULT '',
  due         INTEGER NOT NULL,
  created     INTEGER NOT NULL,
  updated     INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox (target, kind, state);
CREATE INDEX outbox_member ON outbox (member);
)sql",
    // --- 7: reminders and notices in the outbox: the time after which one is dropped --
    R"sql(
ALTER TABLE outbox ADD COLUMN not_after INTEGER;
CREATE INDEX outbox_due ON outbox (state, due);
)sql",
    // --- 8: the web: users, their sessions and password links, API tokens, keys,
    //        sign-in failures; the archive's full-text index (convene/accounts.h, archive.h)
    R"sql(
CREATE TABLE users (
  email   TEXT PRIMARY KEY,                  -- lower case
  name    TEXT NOT NULL,
  role    TEXT NOT NULL CHECK (role IN ('admin', 'facilitator')),
  password TEXT,                             -- crypto_pwhash_str (Argon2id); NULL until set
  created INTEGER NOT NULL
);
CREATE TABLE user_communities (
  user      TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  community TEXT NOT NULL,
  position  INTEGER NOT NULL,
  PRIMARY KEY (user, community)
);
-- One-time password links and sign-in sessions: only the SHA-256 of each secret.
CREATE TABLE user_secrets (
  hash    BLOB PRIMARY KEY CHECK (length(hash) = 32),
  kind    TEXT NOT NULL CHECK (kind IN ('password-link', 'session')),
  user    TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX user_secrets_user ON user_secrets (user, kind);
CREATE TABLE signin_failures (
  key TEXT NOT NULL,                         -- 'account:<email>' or 'client:<address>'
  at  INTEGER NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures (key, at);
CREATE TABLE api_tokens (
  name            TEXT PRIMARY KEY,
  hash            BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  all_communities INTEGER NOT NULL DEFAULT 0,
  created         INTEGER NOT NULL,
  last_used       INTEGER
);
CREATE TABLE api_token_communities (
  token     TEXT NOT NULL REFERENCES api_tokens(name) ON DELETE CASCADE,
  community TEXT NOT NULL,
  position  INTEGER NOT NULL,
  PRIMARY KEY (token, community)
);
CREATE TABLE keys (
  name TEXT PRIMARY KEY,
  key  BLOB NOT NULL CHECK (length(key) = 32)
);
-- The archive: one row per session that takes place, its words in an FTS5 index of the
-- same rowid. Derived from the definitions (ArchiveIndex::refresh), never edited.
CREATE TABLE archive_sessions (
  id          INTEGER PRIMARY KEY,
  series      TEXT NOT NULL,
  occurrence  TEXT NOT NULL,                 -- local "YYYY-MM-DDTHH:MM"
  community   TEXT NOT NULL,
  start       INTEGER NOT NULL,              -- Unix seconds
  day         TEXT NOT NULL,                 -- local "YYYY-MM-DD"
  fingerprint INTEGER NOT NULL,
  UNIQUE (series, occurrence)
);
CREATE INDEX archive_sessions_start ON archive_sessions (start);
CREATE TABLE archive_categories (
  category TEXT NOT NULL,
  session  INTEGER NOT NULL REFERENCES archive_sessions(id) ON DELETE CASCADE,
  PRIMARY KEY (category, session)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE archive_text USING fts5(
  title, presenter, agenda, resources, description,
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE archive_state (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version TEXT NOT NULL
);
)sql",
    // --- 9: the archive's words with prefix indexes, so that a short word (every word
    //        is searched as a prefix) reads one list instead of merging every term it
    //        begins. The index is derived: emptied here, the next refresh() rebuilds it.
    R"sql(
DROP TABLE archive_text;
CREATE VIRTUAL TABLE archive_text USING fts5(
  title, presenter, agenda, resources, description,
  tokenize = 'porter unicode61 remove_diacritics 2',
  prefix = '2 3 4 5 6'
);
DELETE FROM archive_categories;
DELETE FROM archive_sessions;
DELETE FROM archive_state;
)sql",
    // --- 10: leases: one holder at a time of a named piece of work (the reminder
    //        worker's "remind"), until it expires (Store::acquire_lease)
    R"sql(
CREATE TABLE leases (
  name    TEXT PRIMARY KEY,
  holder  TEXT NOT NULL,
  expires INTEGER NOT NULL                   -- Unix seconds
) WITHOUT ROWID;
)sql",
    // --- 11: members' weekly digest ("MO 07:00", '' for none: convene/store.h DigestTime)
    R"sql(
ALTER TABLE members ADD COLUMN digest TEXT NOT NULL DEFAULT '';
)sql",
    // --- 12: webhooks: a member's (their URL sealed), a community's channels, and the
    //        earliest time a message is retried (a server's Retry-After)
    R"sql(
ALTER TABLE members ADD COLUMN reminder_webhook TEXT NOT NULL DEFAULT '';  -- sealed (convene/secrets.h)
CREATE TABLE community_channels (
  name      TEXT PRIMARY KEY,
  community TEXT NOT NULL,
  webhook   TEXT NOT NULL,                    -- the URL, sealed (convene/secrets.h)
  offsets   TEXT NOT NULL DEFAULT '',         -- as members' reminder_offsets; '': each series' reminders
  created   INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE outbox ADD COLUMN retry_not_before INTEGER;
)sql",
    // --- 13: attendees' responses as the cloud targets report them (Store::put_responses):
    //        per target, series and occurrence ('' for the whole series), and address
    R"sql(
CREATE TABLE attendee_responses (
  target     TEXT NOT NULL REFERENCES targets(name) ON DELETE CASCADE,
  series     TEXT NOT NULL,
  occurrence TEXT NOT NULL DEFAULT '',       -- local "YYYY-MM-DDTHH:MM", '' for the series
  email      TEXT NOT NULL,                  -- lower case
  member     TEXT NOT NULL DEFAULT '',
  answer     TEXT NOT NULL CHECK (answer IN ('none', 'accepted', 'tentative', 'declined')),
  read_at    INTEGER NOT NULL,               -- Unix seconds
  PRIMARY KEY (target, series, occurrence, email)
) WITHOUT ROWID;
CREATE INDEX attendee_responses_series ON attendee_responses (series);
)sql",
    // --- 14: the outbox's payloads in a table of their own, so that marking a message
    //        (sending, sent, deferred) rewrites its small row and not the message it holds
    R"sql(
CREATE TABLE outbox_payloads (
  id      INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
  payload TEXT NOT NULL
);
INSERT INTO outbox_payloads (id, payload) SELECT id, payload FROM outbox;
ALTER TABLE outbox DROP COLUMN payload;
)sql",
    // --- 15: a series' own choice of an online meeting on calendar-API targets
    //        (SeriesDef::online_meeting): NULL (the target decides), 0 or 1
    R"sql(
ALTER TABLE series ADD COLUMN online_meeting INTEGER CHECK (online_meeting IN (0, 1));
)sql",
};

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == Store::kSchemaVersion,
              "one migration per schema version");

}  // namespace

int schema_version(Connection& connection) {
  auto q = connection.query("PRAGMA user_version");
  return q->step() ? static_cast<int>(q->int64(0)) : 0;
}

void migrate(Connection& connection, int target) {
  for (int version = schema_version(connection); version < target; ++version) {
    connection.exec(kMigrations[version]);
    connection.exec("PRAGMA user_version = " + std::to_string(version + 1));
  }
}

}  // namespace convene::store_internal
