// convene/validate.h: the values that are not free text, checked where they enter, and
// how any value is quoted in a message.
//
// A link (a series' or an override's join_url, a resource's url), an email address (an
// organizer's, a member's), a category and free text (titles, descriptions, names) are
// each checked by one function here, wherever they come from: the definitions loader
// (which names the JSON path), the CLI (which names the flag) and the store's operations
// (so the web pages and the API get the same guard). The outputs can then rely on it: a
// link or an address written into a feed, a page or an email is one line of printable
// ASCII that libcurl parses as what it claims to be, and free text holds no control
// character but TAB, LF and CR (which every output escapes in its own way: iCalendar as
// "\n" through libical's property API, HTML through convene/html.h).
//
// Each check returns nullopt when the value is acceptable, else why not, quoting the
// value: `"ftp://x.example" is not an absolute http:// or https:// URL`. The caller puts the field in
// front: "/communities/0/series/1/join_url: ...", "--join-url: ...".
//
// Messages quote values with quote_value() and nothing else: at most kMaxQuotedChars
// characters of any value, then "…", with control characters, invalid UTF-8 and the
// characters that reorder text (U+202A..U+202E, U+2066..U+2069) escaped, so neither an
// 8 MB rule nor an escape sequence from a file ever reaches a terminal as it is.
//
// How to use:
//   if (auto why = convene::url_problem(text)) refuse("--join-url: " + *why);
//   message = "unknown series " + convene::quote_value(id);
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace convene {

// The most of a value a message shows, in characters (code points).
inline constexpr std::size_t kMaxQuotedChars = 80;
// The longest link accepted (bytes). Meeting links with their tokens are a few hundred.
inline constexpr std::size_t kMaxUrlLength = 2048;
// The longest email address (RFC 5321 §4.5.3.1: 64 for the local part, 254 in all).
inline constexpr std::size_t kMaxEmailLength = 254;
inline constexpr std::size_t kMaxEmailLocalLength = 64;

// `text` between double quotes, as every message shows a value: at most `max_chars`
// characters, then "…"; a backslash, a double quote and control characters are escaped
// as in JSON (\\ \" \n \r \t \u0007), a byte that is not UTF-8 as \xFF, DEL as \u007f,
// C1 controls and the bidirectional controls as \u202e. Valid UTF-8 text shows as it is:
// quote_value("Café") is "\"Café\"".
std::string quote_value(std::string_view text, std::size_t max_chars = kMaxQuotedChars);
// The same escaping, without quotes and without cutting: for a name a message must show
// whole (a file path).
std::string printable(std::string_view text);

// nullopt when `text` is a link convene writes into feeds, pages and emails: an absolute
// http:// or https:// URL, parsed by libcurl's URL API (curl_url), with a host, no
// user name or password (https://trusted.example@evil.example/ is a classic lure), only
// the characters RFC 3986 allows (no whitespace, no control character, no non-ASCII
// character: those are percent-encoded, "%C3%A9"), "%" followed by two hex digits, and
// at most kMaxUrlLength bytes.
std::optional<std::string> url_problem(std::string_view text);

// nullopt when `text` is a webhook URL (a member's or a community channel's): a link by
// url_problem's rules that is https://, or http:// to this machine only (127.0.0.1, [::1],
// localhost: a local relay, the tests' receiver). A webhook URL is a secret (Slack's and
// Teams' are bearer capabilities), so the message never quotes it: it says what is wrong.
std::optional<std::string> webhook_url_problem(std::string_view text);

// nullopt when `text` is one email address, an RFC 5322 addr-spec in its dot-atom form:
// local@domain, ASCII only; the local part of letters, digits and ! # $ % & ' * + - / = ?
// ^ _ ` { | } ~ in dot-separated atoms; the domain of at least two dot-separated labels
// of letters, digits and hyphens (not at either end of a label). So no display name, no
// angle brackets, no comma (a second address), no space, no CR or LF, no "mailto:".
std::optional<std::string> email_problem(std::string_view text);

// nullopt when `text` can stand as free text (a title, a description, a name, a reason):
// valid UTF-8 with no control character but TAB, LF and CR (no NUL, no ESC, no DEL, no
// C1 control), at most kMaxTextLength bytes (convene/limits.h). Line breaks are text:
// every output escapes them.
std::optional<std::string> text_problem(std::string_view text);

// nullopt when `text` is a display name written as a parameter (an organizer's CN): free
// text on one line without a double quote. iCalendar parameters cannot escape a line
// break or a quote the way TEXT values do (RFC 6868's ^n and ^' are not read by every
// reader: python3-icalendar shows them as they are), so such a name would not arrive intact.
std::optional<std::string> display_name_problem(std::string_view text);

// nullopt when `text` is a category: free text on one line without a comma (iCalendar's
// CATEGORIES is a comma-separated list, so "a,b" would read as two categories).
std::optional<std::string> category_problem(std::string_view text);

// The UTF-8 sequence that starts `text`: its code point and its length in bytes; nullopt
// when it is not well-formed (a stray continuation byte, an overlong form, a surrogate,
// beyond U+10FFFF, or cut short). The one decoder of the escapers and checks.
struct CodePoint {
  char32_t value = 0;
  std::size_t length = 0;
};
std::optional<CodePoint> decode_utf8(std::string_view text);

}  // namespace convene
