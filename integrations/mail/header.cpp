// The one header encoder: RFC 2047 encoded-words, RFC 5322 folding, no raw CR/LF.
#include <sodium.h>

#include <cstdio>
#include <stdexcept>

#include "convene/mail.h"

namespace convene::mail {

namespace {

constexpr std::size_t kLineLimit = 78;          // RFC 5322 §2.1.1 "SHOULD"
constexpr std::size_t kEncodedWordBytes = 45;   // 60 base64 characters: "=?UTF-8?B?" + 60 + "?=" = 72 <= 75
constexpr std::size_t kLongestPlainWord = kLineLimit - 1;  // a continuation line is " word"

// The value as valid UTF-8 with every control character (C0, DEL, C1; CR and LF
// included) turned into a space and every invalid sequence into U+FFFD.
std::string sanitize(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c < 0x20 || c == 0x7f) ? ' ' : char(c);
      ++i;
      continue;
    }
    std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (c >= 0xf5) len = 0;
    bool ok = len > 0 && i + len <= in.size();
    char32_t cp = 0;
    if (ok) {
      cp = len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
      for (std::size_t k = 1; k < len && ok; ++k) {
        const auto cc = static_cast<unsigned char>(in[i + k]);
        ok = (cc & 0xc0) == 0x80;
        cp = (cp << 6) | (cc & 0x3f);
      }
      // Overlong forms, surrogates and values past U+10FFFF are invalid too.
      if (ok && ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                 (cp >= 0xd800 && cp <= 0xdfff)))
        ok = false;
    }
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (cp >= 0x80 && cp <= 0x9f) out += ' ';  // C1 controls
    else out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

bool needs_encoding(std::string_view word) {
  return !is_ascii(word) || word.find("=?") != std::string_view::npos || word.size() > kLongestPlainWord;
}

std::string base64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// `text` (valid UTF-8) as encoded-words of at most 75 characters, split between characters.
std::vector<std::string> encoded_words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = std::min(text.size(), i + kEncodedWordBytes);
    // Back off to a character boundary (a byte that is not a continuation byte).
    while (end < text.size() && end > i && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
    out.push_back("=?UTF-8?B?" + base64(text.substr(i, end - i)) + "?=");
    i = end;
  }
  return out;
}

// Lays tokens out on lines of at most 78 characters, folding before a space.
class Folder {
 public:
  explicit Folder(std::string_view name) : out_(std::string(name) + ":"), line_(out_.size()) {}
  void add(const std::string& token) {
    if (line_ + 1 + token.size() > kLineLimit && line_ > 1) {
      out_ += "\r\n";
      line_ = 0;
    }
    out_ += ' ';
    out_ += token;
    line_ += 1 + token.size();
  }
  std::string finish() { return std::move(out_) + "\r\n"; }

 private:
  std::string out_;
  std::size_t line_;
};

// Unstructured text as tokens: plain words, and runs of words that need encoding as
// encoded-words (the spaces between such words travel inside the encoding, since a
// decoder drops whitespace between adjacent encoded-words).
std::vector<std::string> text_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  const auto words = words_of(text);
  std::size_t i = 0;
  while (i < words.size()) {
    if (!needs_encoding(words[i])) {
      tokens.push_back(words[i++]);
      continue;
    }
    std::string run = words[i++];
    while (i < words.size() && needs_encoding(words[i])) run += " " + words[i++];
    for (auto& w : encoded_words(run)) tokens.push_back(std::move(w));
  }
  return tokens;
}

void check_field_name(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("an empty header field name");
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ':')
      throw std::invalid_argument("\"" + std::string(name) + "\" is not a header field name");
  }
}

bool is_atext(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// A display name as phrase tokens: atoms when it is plain words, a quoted-string when it
// is ASCII with specials and short, encoded-words otherwise.
std::vector<std::string> phrase_tokens(const std::string& name) {
  const std::string clean = sanitize(name);
  const auto words = words_of(clean);
  if (words.empty()) return {};
  bool atoms = true;
  for (const auto& w : words) {
    if (w.find("=?") != std::string::npos || w.size() > kLongestPlainWord) atoms = false;
    for (char c : w) atoms = atoms && is_atext(c);
  }
  if (atoms) return words;
  std::string joined;
  for (const auto& w : words) joined += (joined.empty() ? "" : " ") + w;
  if (is_ascii(joined) && joined.find("=?") == std::string::npos && joined.size() < 60) {
    std::string quoted = "\"";
    for (char c : joined) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return {quoted + "\""};
  }
  return encoded_words(joined);
}

}  // namespace

std::string header_field(std::string_view name, std::string_view value) {
  check_field_name(name);
  Folder folder(name);
  for (const auto& token : text_tokens(sanitize(value))) folder.add(token);
  return folder.finish();
}

std::string structured_field(std::string_view name, std::string_view value) {
  check_field_name(name);
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      throw std::invalid_argument("the " + std::string(name) + " field has a character that is not printable ASCII");
  }
  Folder folder(name);
  for (const auto& word : words_of(std::string(value))) {
    if (word.size() > 990) throw std::invalid_argument("the " + std::string(name) + " field has a word too long for a line");
    folder.add(word);
  }
  return folder.finish();
}

std::string address_field(std::string_view name, const std::vector<Address>& addresses) {
  check_field_name(name);
  Folder folder(name);
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const auto& a = addresses[i];
    if (auto e = address_error(a.email)) throw std::invalid_argument(*e);
    for (const auto& token : phrase_tokens(a.name)) folder.add(token);
    folder.add("<" + a.email + ">" + (i + 1 < addresses.size() ? "," : ""));
  }
  return folder.finish();
}

std::string format_date(Instant at) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = date::floor<date::days>(at);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Seconds> hms{at - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d +0000",
                days[date::weekday{day}.c_encoding()], unsigned(ymd.day()), months[unsigned(ymd.month()) - 1],
                int(ymd.year()), int(hms.hours().count()), int(hms.minutes().count()),
                int(hms.seconds().count()));
  return buf;
}

std::string message_id(std::string_view key, std::string_view recipient, std::string_view domain) {
  if (address_error("x@" + std::string(domain)))
    throw std::invalid_argument("\"" + std::string(domain) + "\" is not a domain");
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
  const std::string key_len = std::to_string(key.size()) + ":";
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(key_len.data()), key_len.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(recipient.data()), recipient.size());
  crypto_hash_sha256_final(&state, digest);
  char hex[2 * 16 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, 16);
  return "<" + std::string(hex) + "@" + std::string(domain) + ">";
}

}  // namespace convene::mail
