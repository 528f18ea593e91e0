// convene/web.h: the web pages, members' own pages, the facilitators' workspace and the
// JSON API, served by `convene serve` beside the feeds (the same process and port).
//
// Addresses (a contract: links in emails and feeds point at them):
//   /                                  home: the communities, each with its next sessions
//   /communities/ID                    a community: its series, upcoming sessions, season,
//                                      subscribing
//   /series/ID                         a series
//   /sessions/SERIES/OCCURRENCE_ID     a session ("/sessions/mentoring-monday/2027-01-18T16:00",
//                                      the occurrence id of `convene expand`); with ".ics"
//                                      appended, that session alone as iCalendar
//   /archive?q=WORDS&community=&series=&category=&from=&to=&page=
//                                      past sessions, searched (convene/archive.h)
//   /me/TOKEN                          a member's own page (the token is the credential)
//   /signin                            facilitators and administrators sign in
//   /workspace/...                     their workspace (sessions, closing a day, splits,
//                                      history); /workspace/password/TOKEN sets a password
//   /api/v1/...                        the JSON API (docs/api.md)
// The feeds keep theirs (convene/feed_routes.h).
//
// Pages are HTML rendered on the server, whole without JavaScript; a small script adds
// a copy button and each time in the viewer's own zone when it differs. Every value
// reaching a page goes through convene/html.h's escaper for its context. Responses carry
// a Content-Security-Policy that allows only the page's own inline style and script (by
// hash), no framing, and forms posting to the site itself. Public pages are rendered
// once per state of the data and kept until it changes or a session they list starts,
// with a strong ETag.
//
// Credentials:
//   - members: the private token of their link (the store's, as for their feed);
//   - facilitators and administrators: a password (Argon2id, libsodium's
//     crypto_pwhash_str), then a session cookie ("convene_session": HttpOnly,
//     SameSite=Lax, Path=/workspace, Secure when the request came over https through a
//     trusted proxy); sign-in is rate-limited (convene/accounts.h);
//   - other tools: API tokens, as "Authorization: Bearer TOKEN", scoped to communities.
// Every form carries a CSRF token (an HMAC of what the form acts for, keyed by a secret
// kept in the store), checked before anything else; a form without it is refused (403).
// Every change is the store's own operation (the CLI's) with the signed-in user as the
// actor, refused unless their role covers every community it touches, and given the
// revision the page showed (expect_revision), so a change made meanwhile by someone else
// is shown as a conflict, with who made it, never overwritten.
//
// How to use (what `convene serve` does):
//   convene::FeedCatalog catalog(convene::FeedSource::store(*store), {});
//   convene::http::Router router;
//   convene::add_feed_routes(router, catalog, {.subscribe_page = false});
//   convene::web::Site site(catalog, store.get(), {});
//   site.add_routes(router);
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "convene/clock.h"
#include "convene/definitions.h"
#include "convene/http.h"
#include "convene/schedule.h"

namespace convene {
class FeedCatalog;
class Store;
}  // namespace convene

namespace convene::web {

struct SiteOptions {
  // The public base URL for links in pages (feeds, QR codes, links to give out);
  // empty: the request's (http::Request::base_url()).
  std::string base_url;
  // "Now" (what is upcoming, what is past; sign-in throttling and sessions use the
  // store's clock); nullptr: Clock::real().
  const Clock* clock = nullptr;
  // Register / and /index.html (the home page). `convene serve FILE` leaves them to the
  // feeds' subscribe page (convene/feed_routes.h), which lists every feed of the file.
  bool home_page = true;
};

// The site's routes over the feed catalog's data (its source's snapshot: a definitions
// file or the store) and, when given, the store: members' pages, the workspace and the
// API need it (over a definitions file they answer that they are not available).
class Site {
 public:
  // `catalog` and `store` must outlive the site.
  Site(FeedCatalog& catalog, Store* store, SiteOptions options = {});
  ~Site();
  Site(const Site&) = delete;
  Site& operator=(const Site&) = delete;

  // Registers every address above. With options.home_page, the router must not also
  // register "/" (pass {.subscribe_page = false} to add_feed_routes).
  void add_routes(http::Router& router);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// --- words for people (the pages, and whatever else shows a schedule) -------------

// A series' meeting pattern in words, from its rule, start and duration, in its
// community's zone: "Third Monday of the month, 4–5 pm ET", "Every other Thursday,
// 2–3:30 pm ET", "Third Friday of the month, September to June, 10 am – 12 pm ET",
// "4 sessions on chosen dates, 1–2 pm ET". A rule these words cannot say is given as
// "Recurring (FREQ=...)".
std::string meeting_pattern(const CommunityDef& community, const SeriesDef& series);
// "4–5 pm", "3:30–4:30 pm", "11:30 am – 1 pm": a wall-clock span.
std::string time_range(LocalTime start, LocalTime end);
// "4 pm", "3:30 pm", "12 pm".
std::string clock_time(LocalTime t);
// A zone as people name it: "ET", "CT", "PT", else its long name ("Central European
// Time"), "UTC" for UTC. From ICU's generic names for en-US.
std::string zone_abbreviation(const date::time_zone* zone);
std::string zone_long_name(const date::time_zone* zone);
// Why a session is not where its series puts it, in a member's words:
// "Moved from Monday 18 January: Martin Luther King, Jr. Day", "Cancelled: Snow day",
// "No session: New Year's Day"; empty when nothing happened to it.
std::string why_words(const Occurrence& occurrence);

// The links that add a feed to each calendar client (https://... and webcal://...).
struct SubscribeLinks {
  std::string google;       // https://calendar.google.com/calendar/r?cid=webcal%3A...
  std::string outlook_365;  // https://outlook.office.com/calendar/0/addfromweb?url=...&name=...
  std::string outlook_com;  // https://outlook.live.com/calendar/0/addfromweb?url=...&name=...
  std::string apple;        // webcal://...
  std::string url;          // https://... (copy the link: any other client)
};
// `feed_url` is the absolute http(s) URL of a feed; `name` its calendar's name.
SubscribeLinks subscribe_links(std::string_view feed_url, std::string_view name);

// A QR code of `text` (libqrencode, error correction M) as an inline SVG image with the
// accessible name `label`: one path of dark modules, a four-module quiet zone.
std::string qr_svg(std::string_view text, std::string_view label);

// --- passwords ------------------------------------------------------------------------

// A password's shortest and longest length (bytes).
inline constexpr std::size_t kMinPasswordLength = 12;
inline constexpr std::size_t kMaxPasswordLength = 1024;
// nullopt when `password` may be chosen, else why not.
std::optional<std::string> password_problem(std::string_view password, std::string_view email);
// crypto_pwhash_str with Argon2id at libsodium's interactive limits; throws
// std::runtime_error when the memory for it cannot be had.
std::string hash_password(std::string_view password);
// Whether `password` is the one `hash` was made from (constant time in the password).
bool verify_password(const std::string& hash, std::string_view password);

}  // namespace convene::web
