// MIME building: multipart/mixed > multipart/alternative > text, html, calendar.
#include <sodium.h>

#include <cctype>
#include <stdexcept>

#include "convene/mail.h"

namespace convene::mail {

namespace {

constexpr std::size_t kQpLine = 76;       // RFC 2045 §6.7 (5)
constexpr std::size_t kSevenBitLine = 76; // longer ASCII lines go quoted-printable too

// CRLF line ends for every CR, LF or CRLF.
std::string crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

// True when `text` (CRLF lines) can go as 7bit: ASCII without NUL or bare CR/LF, every
// line at most `limit` characters, no trailing whitespace (which transports may strip).
bool seven_bit(std::string_view text, std::size_t limit) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      if (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t')) return false;
      ++i;
      line = 0;
      continue;
    }
    if (c == 0 || c >= 0x80 || c == '\r' || c == '\n') return false;
    if (++line > limit) return false;
  }
  return true;
}

std::string hash_hex(std::string_view data, std::size_t bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string hex(2 * bytes + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest, bytes);
  hex.pop_back();
  return hex;
}

struct Part {
  std::string headers;  // Content-Type and Content-Transfer-Encoding lines
  std::string body;     // encoded, CRLF lines, ending in CRLF
};

Part text_part(std::string_view subtype, std::string_view text) {
  const std::string lines = crlf(text);
  if (seven_bit(lines, kSevenBitLine))
    return {"Content-Type: text/" + std::string(subtype) + "; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n",
            lines};
  return {"Content-Type: text/" + std::string(subtype) +
              "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
          quoted_printable(lines)};
}

bool is_method_token(std::string_view m) {
  if (m.empty() || m.size() > 32) return false;
  for (char c : m)
    if (!(std::isupper(static_cast<unsigned char>(c)) || c == '-')) return false;
  return true;
}

// The METHOD property of a VCALENDAR's text (its first METHOD line), or "".
std::string method_of(std::string_view ics) {
  std::size_t pos = 0;
  while (pos < ics.size()) {
    const auto end = ics.find("\r\n", pos);
    const std::string_view line = ics.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (line.substr(0, 7) == "METHOD:") return std::string(line.substr(7));
    if (line == "BEGIN:VEVENT") break;  // METHOD belongs before the components
    if (end == std::string_view::npos) break;
    pos = end + 2;
  }
  return {};
}

Part calendar_part(const CalendarPart& calendar) {
  if (!is_method_token(calendar.method))
    throw std::invalid_argument("\"" + calendar.method.substr(0, 40) + "\" is not an iTIP method");
  const std::string lines = crlf(calendar.ics);
  if (method_of(lines) != calendar.method)
    throw std::invalid_argument("the calendar's METHOD is not " + calendar.method);
  const std::string type = "Content-Type: text/calendar; method=" + calendar.method + "; charset=UTF-8\r\n";
  if (seven_bit(lines, 998)) return {type + "Content-Transfer-Encoding: 7bit\r\n", lines};
  return {type + "Content-Transfer-Encoding: base64\r\n", base64_lines(lines)};
}

// A boundary that no part contains ("=_" never occurs in quoted-printable or base64
// output; 7bit parts are checked).
std::string boundary_for(const std::string& seed, std::string_view kind, const std::vector<const Part*>& parts) {
  for (int attempt = 0;; ++attempt) {
    const std::string b = "=_convene_" + std::string(kind) + "_" +
                          hash_hex(seed + "/" + std::string(kind) + "/" + std::to_string(attempt), 12);
    bool clash = false;
    for (const Part* p : parts) clash = clash || p->body.find(b) != std::string::npos;
    if (!clash) return b;
  }
}

std::string multipart(std::string_view subtype, const std::string& boundary, const std::vector<const Part*>& parts) {
  std::string out = "Content-Type: multipart/" + std::string(subtype) + ";\r\n boundary=\"" + boundary + "\"\r\n\r\n";
  for (const Part* p : parts) out += "--" + boundary + "\r\n" + p->headers + "\r\n" + p->body;
  out += "--" + boundary + "--\r\n";
  return out;
}

void check_extra_header(const std::string& name) {
  static const char* const reserved[] = {"from", "to", "cc", "bcc", "subject", "date", "message-id",
                                         "mime-version", "content-type", "content-transfer-encoding", "reply-to"};
  std::string lower;
  for (char c : name) lower += char(std::tolower(static_cast<unsigned char>(c)));
  for (const char* r : reserved)
    if (lower == r) throw std::invalid_argument("the " + name + " header is written by render() itself");
}

}  // namespace

std::string quoted_printable(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t line = 0;
  auto emit = [&](const std::string& piece) {
    // A soft break ("=" CRLF) keeps every line within 76 characters, the "=" included.
    if (line + piece.size() > kQpLine - 1) {
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      out += "\r\n";
      line = 0;
      ++i;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || (text[i + 1] == '\r' && i + 2 < text.size() && text[i + 2] == '\n');
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (literal) emit(std::string(1, char(c)));
    else emit(std::string{'=', hex[c >> 4], hex[c & 15]});
  }
  return out;
}

std::string base64_lines(std::string_view bytes) {
  std::string b64(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.pop_back();
  std::string out;
  out.reserve(b64.size() + b64.size() / 38 + 2);
  for (std::size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\r\n";
  return out;
}

std::string render(const Message& m) {
  if (m.to.empty()) throw std::invalid_argument("a message without a recipient");
  if (m.message_id.size() < 5 || m.message_id.front() != '<' || m.message_id.back() != '>' ||
      !parse_address(m.message_id.substr(1, m.message_id.size() - 2)).address)
    throw std::invalid_argument("\"" + m.message_id.substr(0, 60) + "\" is not a Message-ID");
  std::string out;
  out += address_field("From", {m.from});
  out += address_field("To", m.to);
  if (m.reply_to) out += address_field("Reply-To", {*m.reply_to});
  out += header_field("Subject", m.subject);
  out += "Date: " + format_date(m.date) + "\r\n";
  out += "Message-ID: " + m.message_id + "\r\n";
  for (const auto& [name, value] : m.headers) {
    check_extra_header(name);
    out += structured_field(name, value);
  }
  out += "MIME-Version: 1.0\r\n";

  const Part text = text_part("plain", m.text);
  if (m.html.empty() && !m.calendar) return out + text.headers + "\r\n" + text.body;

  std::vector<Part> alternatives{text};
  if (!m.html.empty()) alternatives.push_back(text_part("html", m.html));
  if (m.calendar) alternatives.push_back(calendar_part(*m.calendar));
  std::vector<const Part*> parts;
  for (const auto& p : alternatives) parts.push_back(&p);
  const std::string inner_boundary = boundary_for(m.message_id, "alt", parts);
  // The inner multipart as one part of the outer one (its headers are its first line).
  std::string inner = multipart("alternative", inner_boundary, parts);
  const auto split = inner.find("\r\n\r\n");
  Part alternative{inner.substr(0, split + 2), inner.substr(split + 4)};
  const std::string outer_boundary = boundary_for(m.message_id, "mixed", {&alternative});
  return out + multipart("mixed", outer_boundary, {&alternative});
}

}  // namespace convene::mail
