// The checks of values that are not free text, and the one way messages quote a value
// (convene/validate.h).
#include "convene/validate.h"

#include "convene/limits.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

namespace convene {

namespace {

constexpr const char* kHex = "0123456789abcdef";
constexpr const char* kHexUpper = "0123456789ABCDEF";

bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Code points shown escaped: C0 and C1 controls, DEL, and the bidirectional embeddings,
// overrides and isolates (which can make a terminal show text in another order).
bool escaped_code_point(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

void put_escaped(std::string& out, char32_t c) {
  switch (c) {
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(c >> shift) & 0xF];
}

// Appends the escaped form of `text`, at most `max_chars` characters of it; returns
// whether all of it fit.
bool append_printable(std::string& out, std::string_view text, std::size_t max_chars) {
  std::size_t shown = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (shown == max_chars) return false;
    ++shown;
    const auto cp = decode_utf8(text.substr(i));
    if (!cp) {
      const auto byte = static_cast<unsigned char>(text[i]);
      out += "\\x";
      out += kHexUpper[byte >> 4];
      out += kHexUpper[byte & 0xF];
      ++i;
      continue;
    }
    if (escaped_code_point(cp->value)) {
      put_escaped(out, cp->value);
    } else if (cp->value == '"' || cp->value == '\\') {
      out += '\\';
      out += static_cast<char>(cp->value);
    } else {
      out.append(text.substr(i, cp->length));
    }
    i += cp->length;
  }
  return true;
}

// The first character of `text` a link or an address may not hold, described for a
// message: "a space", "a line break (LF)", "\"é\"".
std::string describe_character(std::string_view text, std::size_t pos) {
  const char c = text[pos];
  if (c == ' ') return "a space";
  if (c == '\n') return "a line break (LF)";
  if (c == '\r') return "a line break (CR)";
  if (c == '\t') return "a tab";
  const auto cp = decode_utf8(text.substr(pos));
  if (!cp) return "a byte that is not UTF-8";
  if (escaped_code_point(cp->value)) return "a control character " + quote_value(text.substr(pos, cp->length));
  return quote_value(text.substr(pos, cp->length));
}

// RFC 3986: unreserved, reserved (gen-delims and sub-delims) and "%".
bool uri_character(char c) {
  if (is_ascii_alpha(c) || is_ascii_digit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                        // unreserved
    case ':': case '/': case '?': case '#': case '[': case ']': case '@':          // gen-delims
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+':
    case ',': case ';': case '=':                                                  // sub-delims
    case '%':
      return true;
    default:
      return false;
  }
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// A part of a parsed URL, or nullptr when it has none.
CurlString url_part(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK) return CurlString{};
  return CurlString{value};
}

bool atext(char c) {
  if (is_ascii_alpha(c) || is_ascii_digit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// Why `domain` is not a domain of at least two labels, or nullopt.
std::optional<std::string> domain_problem(std::string_view domain) {
  if (domain.empty()) return "has nothing after the \"@\"";
  if (domain.find('.') == std::string_view::npos) {
    return "has a domain without a dot (" + quote_value(domain) + "): write the full domain, "
           "such as example.org";
  }
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t dot = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty()) return "has an empty label in its domain " + quote_value(domain);
    if (label.size() > 63) return "has a domain label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') {
      return "has a domain label that starts or ends with \"-\": " + quote_value(label);
    }
    for (char c : label) {
      if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '-') {
        return "has " + describe_character(label, label.find(c)) + " in its domain";
      }
    }
    start = dot + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<CodePoint> decode_utf8(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto b0 = static_cast<unsigned char>(text[0]);
  if (b0 < 0x80) return CodePoint{b0, 1};
  std::size_t length = 0;
  char32_t value = 0;
  char32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2, value = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3, value = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    return std::nullopt;  // a continuation byte, C0/C1 (overlong), F5..FF
  }
  if (text.size() < length) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return std::nullopt;
  return CodePoint{value, length};
}

std::string quote_value(std::string_view text, std::size_t max_chars) {
  std::string out = "\"";
  out.reserve(std::min(text.size(), max_chars * 4) + 8);
  const bool whole = append_printable(out, text, max_chars);
  out += '"';
  if (!whole) out += "…";
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_printable(out, text, text.size());
  return out;
}

namespace {

// url_problem's rules; `shown` is how messages name the value (quoted, or not at all).
// On success, `scheme` and `host` are what libcurl read.
std::optional<std::string> link_problem(std::string_view text, const std::string& shown, std::string* scheme_out = nullptr,
                                        std::string* host_out = nullptr) {
  const std::string refused = shown + " is not an absolute http:// or https:// URL";
  if (text.size() > kMaxUrlLength) {
    return refused + ": it is longer than " + std::to_string(kMaxUrlLength) + " bytes";
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (uri_character(text[i])) continue;
    std::string why = refused + ": it holds " + describe_character(text, i);
    if (static_cast<unsigned char>(text[i]) >= 0x80 && decode_utf8(text.substr(i))) {
      why += ", which a link holds percent-encoded (\"é\" is %C3%A9)";
    }
    return why;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2]))) {
      return refused + ": \"%\" must be followed by two hex digits (a space is %20)";
    }
  }
  if (!starts_with_ignoring_case(text, "https://") && !starts_with_ignoring_case(text, "http://")) {
    return refused + " (such as \"https://meet.example.org/cop\")";
  }
  const std::unique_ptr<CURLU, UrlDeleter> url{curl_url()};
  if (!url) return std::string("cannot check a link: out of memory");
  const std::string copy(text);
  if (const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, copy.c_str(), 0); rc != CURLUE_OK) {
    return refused + ": libcurl cannot read it (" + curl_url_strerror(rc) + ")";
  }
  const CurlString scheme = url_part(url.get(), CURLUPART_SCHEME);
  if (!scheme || (std::string_view(scheme.get()) != "http" && std::string_view(scheme.get()) != "https")) {
    return refused;
  }
  const CurlString host = url_part(url.get(), CURLUPART_HOST);
  if (!host || !*host.get()) return refused + ": it has no host";
  if (url_part(url.get(), CURLUPART_USER) || url_part(url.get(), CURLUPART_PASSWORD)) {
    return refused + ": it holds a user name or password before the host (write the link without it)";
  }
  if (scheme_out) *scheme_out = scheme.get();
  if (host_out) *host_out = host.get();
  return std::nullopt;
}

}  // namespace

std::optional<std::string> url_problem(std::string_view text) {
  if (text.empty()) return std::string("an empty link (write an https:// link, or leave the field out)");
  return link_problem(text, quote_value(text));
}

std::optional<std::string> webhook_url_problem(std::string_view text) {
  if (text.empty()) return std::string("an empty URL (give the webhook's https:// URL)");
  std::string scheme, host;
  if (auto why = link_problem(text, "the URL (not shown: a webhook URL is a secret)", &scheme, &host)) return why;
  if (scheme == "https") return std::nullopt;
  if (host == "127.0.0.1" || host == "[::1]" || host == "::1" || host == "localhost") return std::nullopt;
  return std::string("the URL (not shown: a webhook URL is a secret) is http:// to a host that is not this machine: "
                     "a webhook URL must be https:// (http:// only to 127.0.0.1, [::1] or localhost, for a local relay)");
}

std::optional<std::string> email_problem(std::string_view text) {
  const std::string shown = quote_value(text);
  if (text.empty()) return std::string("an empty email address");
  if (text.size() > kMaxEmailLength) {
    return shown + " is longer than " + std::to_string(kMaxEmailLength) + " characters, too long "
           "for an email address";
  }
  if (starts_with_ignoring_case(text, "mailto:")) {
    return shown + " starts with \"mailto:\": write the address alone (name@example.org)";
  }
  if (const auto bracket = text.find_first_of("<>"); bracket != std::string_view::npos) {
    return shown + " is not one email address: it holds " + describe_character(text, bracket) +
           " (give the address alone, without a name or angle brackets); expected name@example.org";
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (atext(c) || c == '.' || c == '@') continue;
    std::string why = shown + " is not one email address: it holds " + describe_character(text, i);
    if (c == ',' || c == ';') why += " (give one address)";
    return why + "; expected name@example.org";
  }
  const auto at = text.find('@');
  if (at == std::string_view::npos) return shown + " is not an email address (no \"@\"); expected name@example.org";
  if (text.find('@', at + 1) != std::string_view::npos) {
    return shown + " is not one email address: it holds two \"@\"";
  }
  const std::string_view local = text.substr(0, at);
  if (local.empty()) return shown + " has nothing before the \"@\"";
  if (local.size() > kMaxEmailLocalLength) {
    return shown + " has a part before the \"@\" longer than " + std::to_string(kMaxEmailLocalLength) +
           " characters";
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return shown + " is not an email address: a dot may not start or end the part before the \"@\", "
           "or follow another dot";
  }
  if (auto why = domain_problem(text.substr(at + 1))) return shown + " " + *why;
  return std::nullopt;
}

std::optional<std::string> text_problem(std::string_view text) {
  if (text.size() > kMaxTextLength) {
    return quote_value(text) + " is " + std::to_string(text.size()) + " bytes long; text may be at most " +
           std::to_string(kMaxTextLength);
  }
  for (std::size_t i = 0; i < text.size();) {
    const auto cp = decode_utf8(text.substr(i));
    if (!cp) return quote_value(text) + " is not UTF-8 text (byte " + std::to_string(i) + ")";
    const char32_t c = cp->value;
    if (escaped_code_point(c) && c != '\t' && c != '\n' && c != '\r' && c < 0x202A) {
      return quote_value(text) + " holds a control character (" + describe_character(text, i) +
             "): text may hold line breaks and tabs, no other control characters";
    }
    i += cp->length;
  }
  return std::nullopt;
}

std::optional<std::string> display_name_problem(std::string_view text) {
  if (auto why = text_problem(text)) return why;
  if (const auto pos = text.find_first_of("\"\r\n"); pos != std::string_view::npos) {
    return quote_value(text) + " holds " + (text[pos] == '"' ? std::string("a double quote") : "a line break") +
           ": a name is one line, without double quotes";
  }
  return std::nullopt;
}

std::optional<std::string> category_problem(std::string_view text) {
  if (auto why = text_problem(text)) return why;
  if (const auto pos = text.find_first_of(",\r\n"); pos != std::string_view::npos) {
    return quote_value(text) + " holds " + (text[pos] == ',' ? std::string("a comma") : "a line break") +
           ": a category is one label on one line (list each category on its own)";
  }
  return std::nullopt;
}

}  // namespace convene
