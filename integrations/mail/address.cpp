// Addresses: one strict addr-spec form, and "Name <addr>" for the sender.
#include <algorithm>
#include <cctype>

#include "convene/mail.h"

namespace convene::mail {

namespace {

// RFC 5322 §3.2.3 atext.
bool is_atext(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

std::string shown(std::string_view text) {
  // A short, printable piece of the value for messages.
  std::string out;
  for (char c : text.substr(0, 60)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (text.size() > 60) out += "…";
  return out;
}

std::optional<std::string> local_part_error(std::string_view local) {
  if (local.empty()) return "has nothing before the @";
  if (local.size() > kMaxLocalPart)
    return "has a local part of " + std::to_string(local.size()) + " characters (at most 64)";
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return "has a misplaced dot before the @";
  for (char c : local)
    if (c != '.' && !is_atext(c)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x80) return "has a non-ASCII character before the @ (not supported)";
      return std::string("has a character that is not allowed before the @ (") +
             (u < 0x20 || u == 0x7f ? std::string("a control character") : "'" + std::string(1, c) + "'") + ")";
    }
  return std::nullopt;
}

std::optional<std::string> domain_error(std::string_view domain) {
  if (domain.empty()) return "has nothing after the @";
  if (domain.size() > kMaxDomain) return "has a domain longer than 253 characters";
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63) return "has a domain that is not a host name";
    if (label.front() == '-' || label.back() == '-') return "has a domain that is not a host name";
    for (char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x80) return "has a non-ASCII domain (write it in its xn-- form)";
      if (!std::isalnum(u) && c != '-') return "has a domain that is not a host name";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Address::domain() const {
  const auto at = email.rfind('@');
  return at == std::string::npos ? std::string() : email.substr(at + 1);
}

std::optional<std::string> address_error(std::string_view email) {
  const std::string what = "the address \"" + shown(email) + "\" ";
  if (email.size() > kMaxAddress) return what + "is longer than 254 characters";
  const auto at = email.rfind('@');
  if (at == std::string_view::npos) return what + "has no @";
  if (auto e = local_part_error(email.substr(0, at))) return what + *e;
  if (auto e = domain_error(email.substr(at + 1))) return what + *e;
  return std::nullopt;
}

ParsedAddress parse_address(std::string_view text) {
  ParsedAddress result;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      result.error = "the address \"" + shown(text) + "\" has a control character";
      return result;
    }
  }
  text = trim(text);
  Address address;
  const auto open = text.rfind('<');
  if (open == std::string_view::npos) {
    if (text.find('>') != std::string_view::npos) {
      result.error = "the address \"" + shown(text) + "\" has a '>' without a '<'";
      return result;
    }
    address.email = std::string(text);
  } else {
    if (text.back() != '>') {
      result.error = "the address \"" + shown(text) + "\" has text after its <...>";
      return result;
    }
    address.email = std::string(text.substr(open + 1, text.size() - open - 2));
    std::string_view name = trim(text.substr(0, open));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      // A quoted display name: \" and \\ are its only escapes.
      std::string unquoted;
      for (std::size_t i = 1; i + 1 < name.size(); ++i) {
        if (name[i] == '\\' && i + 2 < name.size()) ++i;
        else if (name[i] == '"') {
          result.error = "the display name " + shown(name) + " has an unescaped quote";
          return result;
        }
        unquoted += name[i];
      }
      address.name = unquoted;
    } else {
      if (name.find_first_of("<>\"") != std::string_view::npos) {
        result.error = "the display name \"" + shown(name) + "\" has a quote or an angle bracket";
        return result;
      }
      address.name = std::string(name);
    }
    if (address.name.size() > kMaxDisplayName) {
      result.error = "the display name \"" + shown(address.name) + "\" is longer than 256 characters";
      return result;
    }
  }
  if (auto e = address_error(address.email)) {
    result.error = *e;
    return result;
  }
  result.address = std::move(address);
  return result;
}

}  // namespace convene::mail
