// The store's schema and its forward migrations.
//
// The schema version is SQLite's `PRAGMA user_version`. Migration k takes a database
// from version k-1 to k; opening a store runs every migration it lacks, in order, in
// one write transaction, so a crash mid-migration leaves the old version intact. A
// database whose version is newer than kSchemaVersion is refused before anything is
// written to it.
//
//   1: definitions (calendars, rules, closures, communities, series, overrides),
//      revisions, the audit trail and its affected occurrences, meta (data_version)
//   2: members, their feed tokens (hashes) and subscriptions
//   3: audit.target (the calendar or member a change names) and its index
//   4: series.reminders
//   5: change tracking: revisions.fingerprint and .was_live; coverage (how far every
//      occurrence of a series has a revision row); import_base (the last imported file,
//      for the merge that keeps CLI changes); communities.cancellations
//   6: invitations: targets, remote_records (what each target was given), the outbox,
//      members.delivery
//   7: reminders: outbox.not_after
//   8: the web: users, user_communities, user_secrets (password links, sessions),
//      signin_failures, api_tokens, api_token_communities, keys; the archive
//      (archive_sessions, archive_categories, the FTS5 archive_text, archive_state)
//   9: the archive's FTS5 table with prefix indexes (2 to 6 characters), rebuilt
//  10: leases (the reminder worker's: one sender at a time, taken over on expiry)
#pragma once

#include "internal/store_sqlite.h"

namespace convene::store_internal {

// The version of the open database (0 for a new, empty file).
int schema_version(Connection& connection);

// Runs the migrations from the database's version up to `target` (<= kSchemaVersion)
// inside the caller's write transaction. Tests use a smaller target to build an old
// store.
void migrate(Connection& connection, int target);

}  // namespace convene::store_internal
