// The one HTML escaper (convene/html.h).
#include "convene/html.h"

#include "convene/validate.h"

namespace convene::html {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string escape(std::string_view value) {
  std::string out;
  out.reserve(value.size() + value.size() / 8);
  for (std::size_t i = 0; i < value.size();) {
    const auto cp = decode_utf8(value.substr(i));
    if (!cp) {
      out += kReplacement;
      ++i;
      continue;
    }
    const char32_t c = cp->value;
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': case '\n': case '\r': out += static_cast<char>(c); break;
      default:
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
          out += kReplacement;
        } else {
          out.append(value.substr(i, cp->length));
        }
    }
    i += cp->length;
  }
  return out;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string text(std::string_view value) { return escape(value); }

std::string attribute(std::string_view value) { return escape(value); }

bool is_safe_url(std::string_view url) {
  for (char c : url) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7F) return false;  // whitespace and controls: browsers drop them
  }
  for (std::size_t i = 0; i < url.size();) {
    const auto cp = decode_utf8(url.substr(i));
    if (!cp || (cp->value >= 0x80 && cp->value <= 0x9F)) return false;
    i += cp->length;
  }
  // A scheme is what comes before the first ":" when no "/", "?" or "#" comes first
  // (RFC 3986 §4.2: otherwise the ":" belongs to a relative reference's path or query).
  const auto colon = url.find(':');
  const auto delimiter = url.find_first_of("/?#");
  if (colon == std::string_view::npos || (delimiter != std::string_view::npos && delimiter < colon)) {
    return true;  // a relative reference
  }
  std::string scheme;
  for (char c : url.substr(0, colon)) scheme += lower(c);
  return scheme == "http" || scheme == "https" || scheme == "mailto" || scheme == "webcal";
}

std::string url_attribute(std::string_view url) {
  if (!is_safe_url(url)) return std::string(kUnsafeUrl);
  return attribute(url);
}

std::string query_component(std::string_view value) {
  static constexpr const char* kDigits = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xF];
    }
  }
  return out;
}

}  // namespace convene::html
