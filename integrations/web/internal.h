// The web's parts (not part of convene/web.h): the page frame and its components, the
// page renderers (pure functions of the data they are given), CSRF tokens.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/accounts.h"
#include "convene/archive.h"
#include "convene/definitions.h"
#include "convene/html.h"
#include "convene/revision.h"
#include "convene/schedule.h"
#include "convene/store.h"
#include "convene/web.h"

namespace convene::web::internal {

// --- escaping, by context (convene/html.h), and links ---------------------------------
inline std::string T(std::string_view s) { return html::text(s); }
inline std::string A(std::string_view s) { return html::attribute(s); }
inline std::string U(std::string_view s) { return html::url_attribute(s); }
// One path segment of a link ("2027-01-18T16:00" stays readable): RFC 3986 unreserved
// characters and ':' '@' as they are, every other byte percent-encoded.
std::string segment(std::string_view id);

// Site paths, built in one place.
std::string community_path(std::string_view id);
std::string series_path(std::string_view id);
std::string session_path(std::string_view series, LocalTime original);
std::string workspace_session_path(std::string_view series, LocalTime original);

// --- what every page renders from ------------------------------------------------------
struct SiteData {
  std::shared_ptr<const Definitions> definitions;
  RevisionSource revisions;
  Instant now{};
  std::string base_url;  // absolute http(s), without a trailing "/"
  std::uint64_t version = 0;  // of the snapshot: changes whenever the data does
};

// A rendered page: its status, its HTML, and until when it stays true without a change
// of the data (the next start of a session it lists as upcoming).
struct Rendered {
  int status = 200;
  std::string html;
  Instant valid_until = Instant::max();
};

// The frame of every page.
struct Frame {
  std::string title;                    // <title> and nothing else; pages write their <h1>
  std::string main;                     // the <main> content (HTML)
  std::string section;                  // "home", "archive", "workspace", "me": the nav's current
  std::optional<std::string> signed_in; // the workspace user's name: a sign-out form in the header
  std::string signout_csrf;             // its token
};
std::string page(const Frame& frame);
// A page for someone not signed in.
std::string page(std::string title, std::string main, std::string section = "");
// Content-Security-Policy for every page (the inline style and script by hash).
const std::string& content_security_policy();

// --- components ---------------------------------------------------------------------------
// "Tuesday 19 January 2027" / "4–5 pm ET" of a session as it takes place (or would have).
std::string session_day(const Occurrence& o);
std::string session_time(const Occurrence& o);
// <time datetime=... data-zone=...>Tuesday 19 January 2027, 4–5 pm ET</time>; with a
// viewer's zone that differs: "Tuesday 19 January 2027, 3–4 pm CT (4–5 pm ET)".
std::string when_html(const Occurrence& o, const date::time_zone* viewer = nullptr);
// The status badge ("Moved", "Cancelled", "No session") and why, or "".
std::string status_html(const Occurrence& o);
// A session as a list item with its link (to the public page or the workspace's).
std::string session_item(const Occurrence& o, bool workspace = false, const date::time_zone* viewer = nullptr);
// Subscribing made plain: one button per client, copy the link, a QR code, and feeds
// versus invitations in one sentence. `id` keeps element ids unique on the page.
std::string subscribe_html(std::string_view feed_url, std::string_view calendar_name, std::string_view id);
// The hidden CSRF field.
std::string csrf_field(std::string_view token);
// An error or notice box.
std::string notice_html(std::string_view kind, std::string_view heading, std::string_view text);
// A table of rows (each cell HTML already), in a region that scrolls sideways if it must
// and is named by `label` (or, with `label_is_id`, by the element of that id). On a phone
// each row shows as a card with each cell under its column's heading (data-label), so
// nothing scrolls sideways; the roles keep it a table for screen readers.
struct Column {
  std::string_view heading;
  bool hidden = false;  // the heading is for screen readers only (a column of buttons)
};
std::string table_html(std::string_view label, const std::vector<Column>& columns,
                       const std::vector<std::vector<std::string>>& rows, bool label_is_id = false);

// --- occurrences of the data ------------------------------------------------------------------
// The sessions of `only` (a community id, a series id list) in [from, to], as expand() gives them.
std::vector<Occurrence> sessions_between(const Definitions& d, LocalDay from, LocalDay to,
                                         const std::optional<std::string>& community,
                                         const std::vector<std::string>& series = {});
// The occurrence (series, original), found however far a policy or move took it.
std::optional<Occurrence> find_session(const Definitions& d, std::string_view series, LocalTime original);
// A series and the series that continue it (splits), in definitions order.
std::vector<std::string> series_family(const Definitions& d, std::string_view series);
// Today in `zone`.
LocalDay today_in(Instant now, const date::time_zone* zone);

// --- public pages (pure) ------------------------------------------------------------------
Rendered home_page(const SiteData& data);
Rendered community_page(const SiteData& data, std::string_view community);
Rendered series_page(const SiteData& data, std::string_view series);
Rendered session_page(const SiteData& data, std::string_view series, std::string_view occurrence);
Rendered not_found_page(std::string_view what);

// Results on one page of the archive.
inline constexpr std::size_t kArchivePageSize = 20;

struct ArchiveForm {
  std::string words, community, series, category, from, to;
  std::size_t page = 1;
  std::vector<std::string> problems;  // a date that is not one, ...
};
Rendered archive_page(const SiteData& data, const ArchiveForm& form, const ArchiveResults& results,
                      const std::vector<std::string>& categories);
// The marked text of an archive hit as HTML: escaped, the marks as <mark>.
std::string marked_html(std::string_view marked);

// --- a member's page ---------------------------------------------------------------------
struct MemberData {
  Member member;
  std::vector<Subscription> subscriptions;
  std::vector<std::string> series;  // followed, with splits
  std::string token;                // of the link (the page's address)
  std::string csrf;
  std::string feed_url;             // their personal feed
  std::optional<std::string> saved; // "Your reminders are saved."
  std::vector<std::string> problems;
};
Rendered member_page(const SiteData& data, const MemberData& member);

// --- the workspace --------------------------------------------------------------------------
std::string signin_html(std::string_view csrf, std::string_view email, std::string_view problem);
std::string password_form_html(std::string_view csrf, const User& user, std::string_view problem);

// --- CSRF -------------------------------------------------------------------------------------
// A form's token: base64url(HMAC-SHA-256(key, purpose NUL binding)); `binding` is the
// session's, member's or pre-session cookie's secret, so a token is good only for the
// one who was shown the form.
std::string csrf_token(std::string_view key, std::string_view purpose, std::string_view binding);
bool csrf_ok(std::string_view key, std::string_view purpose, std::string_view binding, std::string_view token);
// 32 bytes of the OS CSPRNG (libsodium's randombytes) as 43 characters of base64url.
std::string random_secret();

}  // namespace convene::web::internal
