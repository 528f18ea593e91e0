// convene/cloud.h: the calendar-API targets, Google Calendar (v3) and Microsoft Graph.
//
// Both are "shared" targets of the one sync engine (convene/invite.h): one event per
// series in an organizer's calendar, the members as its attendees, and the service
// delivers the invitations and every update itself.
//
// Google Calendar (`convene target add NAME --kind google`):
//   - the token: a service account's JWT (RS256, OpenSSL), claims iss (the account's
//     client_email), scope (calendar), aud (the token URL), iat, exp = iat + 1 h, and sub
//     when it impersonates a Workspace user (--subject); exchanged at the token URL for
//     an access token kept until a minute before it expires;
//   - a series is events.insert with our id (google_event_id: base32hex of the UID, so a
//     retry finds the same event), its recurrence lines (RRULE, RDATE, EXDATE; never
//     DTSTART), start.timeZone, the attendees and sendUpdates=all; a 409 on insert is
//     read back, and when the event is ours (its iCalUID) it is brought up to date with a
//     PATCH (the lost answer of an insert that succeeded; an event we deleted earlier,
//     whose id Google never gives out again, comes back confirmed);
//   - every session that differs from the rule is its instance (recurringEventId +
//     originalStartTime, id "<event id>_<original start, UTC basic form>"): PATCHed when
//     moved or edited, status cancelled when cancelled; the series itself is PATCHed only
//     when the series changed (its title, rule, attendees);
//   - with `meet` (--meet), conferenceData.createRequest (hangoutsMeet) and
//     conferenceDataVersion=1, the event read again until the request is success or
//     failure;
//   - attendees' responseStatus read back at every sync with one events.list of the
//     calendar (not expanded: the series and the instances Google keeps apart), paged
//     (convene attendance).
//
// Microsoft Graph (`--kind graph`):
//   - the token: client credentials (client_id, the secret from a 0600 file, scope
//     https://graph.microsoft.com/.default) at the tenant's token endpoint, kept until a
//     minute before it expires;
//   - a series whose rule fits one of Graph's six pattern types (graph_recurrence) is one
//     event with a patternedRecurrence, created with a transactionId (the plan's key), so
//     a retry after a lost answer gets the same event; its sessions that differ from the
//     rule are found through /instances (by originalStart) and PATCHed, or cancelled with
//     /cancel (sessions the rule makes that the series skips are cancelled too);
//   - a series whose rule does not fit (RDATEs, BYWEEKNO, ...; graph_pattern) is one
//     single event per session that takes place, each created with its own
//     transactionId ("<key>/<original start>"), their ids kept in the series' mapping
//     record; the plan says so ("series X: N single events: its rule RRULE:... has no
//     Graph pattern (why)");
//   - a series whose rule moves out of the patterns (or back in) changes form: the new
//     form is made whole first (each single event, or the recurring event with its
//     exceptions, every create with its transactionId), then the old form cancelled
//     (the recurring event's one /cancel, or each single event's), so attendees get one
//     cancellation of the old form and never a session twice or none; the mapping keeps
//     both forms' ids until the operation is done, and a 404 to a cancel is a cancel
//     done by an earlier try, so a sync killed anywhere in it converges; the plan says
//     so ("its recurring event is cancelled", "its N single events are cancelled");
//   - times in Windows zone names (windows_zone), with Prefer: outlook.timezone in the
//     same form on every request; isOnlineMeeting with teamsForBusiness when asked;
//   - at most 4 requests at once per mailbox (Graph's limit), 429 retried after its
//     Retry-After;
//   - attendees' status.response read back at every sync: the mailbox's events (the
//     series') and each series' /instances (one occurrence's).
//
// Every request goes through one HTTP engine (libcurl's multi interface): at most
// max_connections at once (Graph: 4 per mailbox), at most requests_per_minute, retried
// with exponential backoff and full jitter (backoff_ms, doubling, capped) on 429, 403
// rateLimitExceeded/userRateLimitExceeded, 5xx and timeouts, waiting the Retry-After a
// server sends instead. A throttle that outlasts max_attempts stops the target for this
// sync ("quota"), which is retried at the next; the other targets go on.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "convene/secrets.h"
#include "convene/time.h"

namespace convene::cloud {

// How every cloud target talks HTTP (settings common to both kinds).
struct HttpSettings {
  std::string api_url;                  // the service's root, e.g. https://www.googleapis.com
  std::string token_url;                // the OAuth token endpoint
  std::string ca_file;                  // PEM to trust (default: the system's)
  std::size_t max_connections = 4;      // requests at once
  std::size_t requests_per_minute = 0;  // 0: no pacing
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds backoff{1000};  // the first retry's ceiling (then doubled, to 64 s)
  int max_attempts = 6;                 // per request, the first included
};

struct GoogleSettings {
  std::string calendar_id;              // "primary" or "...@group.calendar.google.com"
  SecretRef credentials = SecretRef::file("");  // the service-account JSON key (a 0600 file)
  std::string subject;                  // impersonated user ("" : the service account itself)
  bool meet = false;                    // a Google Meet link on every series
  HttpSettings http;
};

inline constexpr const char* kGoogleApiUrl = "https://www.googleapis.com";
inline constexpr const char* kGoogleTokenUrl = "https://oauth2.googleapis.com/token";
inline constexpr const char* kGoogleScope = "https://www.googleapis.com/auth/calendar";
// Google's default per-user quota is 600 requests a minute; convene stays under it.
inline constexpr std::size_t kGoogleRequestsPerMinute = 600;

struct GraphSettings {
  std::string tenant;                   // the Entra tenant ID (a GUID or a domain)
  std::string client_id;                // the application's ID
  SecretRef client_secret = SecretRef::file("");  // a 0600 file
  std::string mailbox;                  // the organizer's mailbox (user principal name)
  bool teams = false;                   // a Teams meeting on every series
  HttpSettings http;
};

inline constexpr const char* kGraphApiUrl = "https://graph.microsoft.com";
inline constexpr const char* kGraphScope = "https://graph.microsoft.com/.default";
// Graph (Exchange Online) lets an application run at most 4 requests at once per mailbox.
inline constexpr std::size_t kGraphMailboxConcurrency = 4;
// https://login.microsoftonline.com/TENANT/oauth2/v2.0/token
std::string graph_token_url(std::string_view tenant);

nlohmann::json to_json(const GraphSettings& settings);
std::optional<GraphSettings> graph_settings(const nlohmann::json& settings, std::string& error);

// The Windows name of an IANA zone ("Asia/Kolkata" -> "India Standard Time"), from
// ICU's CLDR table (icu::TimeZone::getWindowsID); nullopt when there is none.
std::optional<std::string> windows_zone(std::string_view iana);

// Graph's patternedRecurrence for an RRULE value (no "RRULE:") starting at `start` (a
// wall time of `zone`, IANA), when the rule is one of Graph's six pattern types with an
// end date, a count or no end; nullopt with `why_not` ("BYWEEKNO", "an RDATE", ...) when
// it is not, and the series goes to Graph as separate single events.
std::optional<nlohmann::json> graph_recurrence(std::string_view rrule, LocalTime start, std::string_view zone,
                                               std::string& why_not);

// How a series goes to Graph, the one decision both the plan and the target use: its
// patternedRecurrence (graph_recurrence of `rrule`), or nullopt with `why_not` when it
// is carried as one single event per session: no rule, added dates (RDATE), or a rule
// outside the six patterns.
std::optional<nlohmann::json> graph_pattern(const std::optional<std::string>& rrule, bool has_rdates, LocalTime start,
                                            std::string_view zone, std::string& why_not);

// The single events that carry a Graph series (a session's original start -> its event
// id), kept in the series' mapping record as its etag: {"single_events": {"2026-09-09T15:00":
// "<id>", ...}}. With the record's remote id (the recurring event, "" when there is none),
// it says which form the series is in on Graph now, so a change of rule that moves it
// between a pattern and none removes the old form.
std::map<LocalTime, std::string> graph_single_events(const std::string& etag);
std::string graph_single_events_etag(const std::map<LocalTime, std::string>& events);

// Whether a series gets the service's own online meeting (a Meet link, a Teams
// meeting): its "online_meeting" when it says (true: even without the target's switch;
// false: none even with it), else the target's switch (--meet, --teams).
inline bool online_meeting_wanted(std::optional<bool> series_choice, bool target_switch) {
  return series_choice.value_or(target_switch);
}

nlohmann::json to_json(const GoogleSettings& settings);
std::optional<GoogleSettings> google_settings(const nlohmann::json& settings, std::string& error);

// Why `url` cannot be an API or token URL (http(s), a host, no user, query or fragment).
std::optional<std::string> api_url_error(std::string_view url, std::string_view flag);

// The event id Google gets for `uid`: base32hex (RFC 4648 §7, lower case, no padding)
// of its bytes; 5 to 1024 characters of a-v and 0-9 (UIDs of 3 to 640 bytes).
std::string google_event_id(std::string_view uid);

// A service-account key file, as Google issues it.
struct ServiceAccount {
  std::string client_email;
  std::string private_key;     // PEM
  std::string private_key_id;  // the JWT's "kid" ("" : none)
  std::string token_uri;
};
// Reads the key file's JSON; nullopt with `error` naming `where` and the field at fault.
std::optional<ServiceAccount> parse_service_account(std::string_view json_text, std::string_view where,
                                                    std::string& error);

// The signed assertion (header.claims.signature, base64url) of a token request.
struct JwtClaims {
  std::string iss, scope, aud, sub;
  Instant iat{};
  std::chrono::seconds lifetime{3600};  // at most one hour
};
// "" with `error` when the key cannot sign (not an RSA private key in PEM).
std::string sign_jwt(const JwtClaims& claims, const std::string& pem_key, const std::string& key_id,
                     std::string& error);

}  // namespace convene::cloud
