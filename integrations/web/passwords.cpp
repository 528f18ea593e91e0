// Passwords (convene/web.h): Argon2id through libsodium's crypto_pwhash_str.
#include <sodium.h>

#include <mutex>
#include <stdexcept>

#include "convene/validate.h"
#include "convene/web.h"

namespace convene::web {

namespace {

void ready() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

}  // namespace

std::optional<std::string> password_problem(std::string_view password, std::string_view email) {
  if (password.size() < kMinPasswordLength)
    return "A password needs at least " + std::to_string(kMinPasswordLength) + " characters.";
  if (password.size() > kMaxPasswordLength)
    return "A password may have at most " + std::to_string(kMaxPasswordLength) + " characters.";
  if (text_problem(password)) return "A password may not hold control characters or bytes that are not UTF-8 text.";
  if (password == email) return "A password must not be the email address.";
  return std::nullopt;
}

std::string hash_password(std::string_view password) {
  ready();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("not enough memory to hash a password (Argon2id needs 64 MiB)");
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  ready();
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace convene::web
