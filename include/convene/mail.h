// convene/mail.h: email as convene sends it: addresses, headers, MIME and SMTP.
//
// Everything convene mails (invitations now, reminders and notices next) goes through
// this one unit, so the rules below hold for every message:
//   - Addresses are validated where they enter (parse_address, address_error): one
//     addr-spec, ASCII, a dot-atom local part of at most 64 octets and a domain of LDH
//     labels; no quoted local parts, comments, groups or address literals (none of
//     convene's users need them, and every one of them has been an injection vector).
//   - Header fields are written by one encoder (header_field, address_field): every CR,
//     LF and other control character in a value becomes a space (never a raw line
//     break); words with non-ASCII characters, words that look like encoded-words, and
//     ASCII runs too long to fold become RFC 2047 encoded-words (UTF-8, "B" encoding, at
//     most 75 characters each, split between characters); lines are folded at
//     whitespace to at most 78 characters (RFC 5322 §2.1.1, §2.2.3). Invalid UTF-8 is
//     replaced by U+FFFD. A display name is written as atoms, a quoted-string or
//     encoded-words, whichever its characters allow.
//   - Bodies are 7-bit clean: a part is sent as 7bit when it is ASCII with short lines,
//     else quoted-printable (text) or base64 (the calendar), with CRLF line ends.
//   - An invitation is multipart/mixed containing multipart/alternative with text/plain,
//     text/html and an inline `text/calendar; method=REQUEST; charset=UTF-8` part (the
//     METHOD of the VCALENDAR must be the same; render checks it), the structure that
//     Outlook, Gmail and Apple Mail show with Accept/Decline buttons (an attachment
//     instead gets none: Nextcloud #12885).
//   - Message-ID is a function of (what the message is for, its recipient): the same
//     message sent again after a crash has the same Message-ID, so a receiving system can
//     drop the duplicate. Date comes from the injected clock. The MIME boundaries are
//     derived from the Message-ID, so a message renders to the same bytes every time.
//
// SMTP (SmtpClient) goes through libcurl: smtp:// (optionally requiring STARTTLS) or
// smtps://, AUTH with a username and password, one connection reused for many messages
// and up to `max_connections` at once, each connection on a thread of its own (libcurl's
// SMTP waits for the reply to the end of the data in a blocking loop, so inside one multi
// handle the connections would take turns). Each message has
// one recipient, so the server's answer to that recipient decides that message alone;
// a server that is down or refuses the login stops the batch with one clear reason.
//
// How to use:
//   auto from = convene::mail::parse_address("School Nurse CoP <cop@example.org>");
//   convene::mail::Message m;
//   m.from = *from.address;
//   m.to = {{"Rosa Díaz", "rosa@example.org"}};
//   m.subject = "Mentoring Monday moved to Tuesday 19 January";
//   m.date = clock.now();
//   m.message_id = convene::mail::message_id("invite/mentoring-monday/7", "rosa@example.org",
//                                            m.from.domain());
//   m.text = "...";  m.html = "...";  m.calendar = {{"REQUEST", ics}};
//   std::string data = convene::mail::render(m);
//   convene::mail::SmtpClient smtp(config);
//   smtp.send(envelopes, {}, [](std::size_t i, const convene::mail::SendResult& r) { ... });
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "convene/secrets.h"
#include "convene/time.h"

namespace convene::mail {

// --- addresses ----------------------------------------------------------------------------

inline constexpr std::size_t kMaxLocalPart = 64;    // RFC 5321 §4.5.3.1.1
inline constexpr std::size_t kMaxDomain = 253;
inline constexpr std::size_t kMaxAddress = 254;     // RFC 5321 path limit less the brackets
inline constexpr std::size_t kMaxDisplayName = 256; // longer names are refused, not cut

struct Address {
  std::string name;   // display name (UTF-8), may be empty
  std::string email;  // addr-spec
  std::string domain() const;  // the part after the last '@'
  friend bool operator==(const Address&, const Address&) = default;
};

// Why `email` is not an addr-spec convene sends to ("has no @", "the domain ... is not a
// host name"), or nullopt when it is one.
std::optional<std::string> address_error(std::string_view email);

struct ParsedAddress {
  std::optional<Address> address;
  std::string error;  // set when address is not
};
// "Name <local@domain>", "\"Diaz, Rosa\" <local@domain>" or "local@domain".
ParsedAddress parse_address(std::string_view text);

// --- header fields -----------------------------------------------------------------------------

// "Name: value\r\n", unstructured (Subject, or any free text), encoded and folded by the
// rules above. `name` must be a field name (printable ASCII without ':'): otherwise
// std::invalid_argument.
std::string header_field(std::string_view name, std::string_view value);
// "To: Rosa =?UTF-8?B?RMOtYXo=?= <rosa@example.org>\r\n"; throws std::invalid_argument
// for an address that address_error refuses.
std::string address_field(std::string_view name, const std::vector<Address>& addresses);
// A field whose value is structured printable ASCII already ("<https://...>, <mailto:...>"):
// folded at its spaces, never encoded. A value with a control or non-ASCII character, or
// a word too long for a line (998), is refused: std::invalid_argument.
std::string structured_field(std::string_view name, std::string_view value);
// RFC 5322 §3.3 in UTC: "Mon, 18 Jan 2027 16:00:00 +0000".
std::string format_date(Instant at);
// "<hex(SHA-256(key, recipient)), 32 digits>@domain>": the same for the same pair.
std::string message_id(std::string_view key, std::string_view recipient, std::string_view domain);

// --- MIME ----------------------------------------------------------------------------------------

// A text/calendar part: METHOD (REQUEST, CANCEL, ...) and the VCALENDAR text.
struct CalendarPart {
  std::string method;
  std::string ics;
};

struct Message {
  Address from;
  std::vector<Address> to;
  std::optional<Address> reply_to;
  std::string subject;
  Instant date{};
  std::string message_id;  // "<...@domain>"
  // Further fields whose values are printable ASCII already (List-Unsubscribe: <https://...>);
  // a value with anything else is refused (std::invalid_argument), never passed through.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string text;                     // text/plain, UTF-8
  std::string html;                     // text/html, UTF-8; empty: none
  std::optional<CalendarPart> calendar;  // inline text/calendar
};

// The message as RFC 5322 text with CRLF line ends, 7-bit clean: a single text/plain
// part when there is no HTML and no calendar, else multipart/mixed containing
// multipart/alternative (text/plain, text/html, text/calendar). Throws
// std::invalid_argument for an invalid address or header, or a calendar whose METHOD is
// not the part's.
std::string render(const Message& message);

// Body encodings, exposed for tests: quoted-printable (RFC 2045 §6.7, lines of at most 76
// characters, CRLF hard breaks) and base64 in lines of 76.
std::string quoted_printable(std::string_view text);
std::string base64_lines(std::string_view bytes);

// --- SMTP ---------------------------------------------------------------------------------------

enum class SmtpSecurity {
  none,      // smtp:// in clear (loopback or a trusted relay)
  starttls,  // smtp:// and STARTTLS required: refuse to send if the server lacks it
  tls,       // smtps:// (implicit TLS, port 465)
};

struct SmtpConfig {
  std::string url;  // smtp://HOST:PORT or smtps://HOST:PORT
  SmtpSecurity security = SmtpSecurity::none;
  std::string username;            // empty: no AUTH
  std::optional<Secret> password;
  std::string ca_file;             // PEM bundle to verify the server with (default: the system's)
  std::size_t max_connections = 4;  // messages in flight at once, each on its own connection
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds timeout{120};  // for one message, connection included
  std::string helo_domain;  // the name given in EHLO (default: "localhost")
};

// Why `url` is not an SMTP URL convene accepts (scheme smtp or smtps, a host, an optional
// port, no user or password in it, no path), or nullopt.
std::optional<std::string> smtp_url_error(std::string_view url);

// One message for one recipient.
struct Envelope {
  std::string from;  // addr-spec (MAIL FROM)
  std::string to;    // addr-spec (RCPT TO)
  std::string data;  // the rendered message
};

struct SendResult {
  enum class Status {
    sent,           // the server answered 250 after the data
    rejected,       // a permanent refusal of this recipient or message (5xx): do not retry
    deferred,       // a temporary refusal (4xx) or a connection lost mid-message: retry later
    not_attempted,  // the batch stopped first (the server is down or refused the login)
  };
  Status status = Status::not_attempted;
  int code = 0;        // the server's last reply code (250, 550, ...), 0 if none
  std::string detail;  // "RCPT TO <x@example.org> refused: 550 5.1.1 no such user"
};

// Why a whole batch stopped (empty when it did not).
struct SmtpFailure {
  std::string message;  // "cannot connect to smtp://127.0.0.1:2525: Connection refused"
  explicit operator bool() const { return !message.empty(); }
};

class SmtpClient {
 public:
  explicit SmtpClient(SmtpConfig config);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // Sends every envelope, at most max_connections at once over reused connections.
  // `starting(i)` is called just before message i is handed to the server (a caller
  // records "sending" there), `done(i, result)` as soon as its outcome is known, both on
  // the calling thread. When the server cannot be reached, refuses TLS or the login, or
  // refuses the sender, the batch stops: messages not yet started are not_attempted and
  // the returned failure says why. Connections stay open for the next send() until the
  // client is destroyed.
  SmtpFailure send(std::span<const Envelope> envelopes, const std::function<void(std::size_t)>& starting,
                   const std::function<void(std::size_t, const SendResult&)>& done);

  // New connections opened so far (libcurl's count), for tests of connection reuse.
  std::size_t connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convene::mail
