// Secrets: 0600 files, the environment, and secrets sealed under a key file (libsodium).
#include "convene/secrets.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace convene {

namespace {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", unsigned(mode & 07777));
  return buf;
}

// A closing file descriptor.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens `path` for reading and checks it is a regular file of this user with no group
// or other permission. Returns the error (empty when fine); `fd` is then open.
std::string open_private(const std::filesystem::path& path, std::string_view what, Fd& fd) {
  const std::string name = std::string(what) + " " + path.string();
  // O_NONBLOCK: a FIFO must not hang the open; it is refused below.
  fd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd.fd < 0) return "cannot read " + name + ": " + std::strerror(errno);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return "cannot read " + name + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return name + " is not a regular file";
  if (st.st_uid != ::geteuid())
    return name + " belongs to another user (uid " + std::to_string(st.st_uid) +
           "); a secret file must be owned by the user running convene";
  if ((st.st_mode & 077) != 0)
    return name + " has mode " + mode_text(st.st_mode) +
           "; a secret file must be readable by its owner only (chmod 600 " + path.string() + ")";
  if (std::size_t(st.st_size) > kMaxSecretFileBytes)
    return name + " is " + std::to_string(st.st_size) + " bytes; a secret file holds at most " +
           std::to_string(kMaxSecretFileBytes);
  return {};
}

// Reads at most kMaxSecretFileBytes + 1 bytes (the size can change after fstat).
std::string read_limited(int fd, std::string& error, const std::string& name) {
  std::string out;
  char buf[4096];
  while (out.size() <= kMaxSecretFileBytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + name + ": " + std::strerror(errno);
      sodium_memzero(out.data(), out.size());
      return {};
    }
    if (n == 0) break;
    out.append(buf, std::size_t(n));
  }
  sodium_memzero(buf, sizeof buf);
  if (out.size() > kMaxSecretFileBytes) {
    sodium_memzero(out.data(), out.size());
    error = name + " holds more than " + std::to_string(kMaxSecretFileBytes) + " bytes";
    return {};
  }
  return out;
}

constexpr std::string_view kSealedPrefix = "k1:";

std::string key_id(const unsigned char* key) {
  unsigned char digest[8];
  crypto_generichash(digest, sizeof digest, key, crypto_secretbox_KEYBYTES, nullptr, 0);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

}  // namespace

// --- Secret -------------------------------------------------------------------------

void Secret::wipe() noexcept {
  if (!value_.empty()) sodium_memzero(value_.data(), value_.size());
  value_.clear();
}
Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    wipe();
    value_ = other.value_;
  }
  return *this;
}
Secret::Secret(Secret&& other) noexcept : value_(other.value_) { other.wipe(); }
Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = other.value_;
    other.wipe();
  }
  return *this;
}
Secret::~Secret() { wipe(); }

// --- reading --------------------------------------------------------------------------

SecretResult read_secret_file(const std::filesystem::path& path, std::string_view what) {
  ensure_sodium();
  SecretResult result;
  Fd fd;
  result.error = open_private(path, what, fd);
  if (!result.error.empty()) return result;
  std::string value = read_limited(fd.fd, result.error, std::string(what) + " " + path.string());
  if (!result.error.empty()) return result;
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) {
    result.error = std::string(what) + " " + path.string() + " is empty";
    return result;
  }
  result.secret.emplace(std::move(value));
  return result;
}

SecretResult read_secret_env(std::string_view name) {
  SecretResult result;
  const std::string variable(name);
  const char* value = std::getenv(variable.c_str());
  if (!value || !*value) {
    result.error = "the environment variable " + variable + " is not set";
    return result;
  }
  if (std::strlen(value) > kMaxSecretFileBytes) {
    result.error = "the environment variable " + variable + " is longer than a secret can be";
    return result;
  }
  result.secret.emplace(value);
  return result;
}

// --- SecretKey ----------------------------------------------------------------------

SecretKey::SecretKey(std::filesystem::path path, const unsigned char* bytes) : path_(std::move(path)) {
  std::memcpy(key_.data(), bytes, key_.size());
}
SecretKey::SecretKey(const SecretKey& other) : path_(other.path_), key_(other.key_) {}
SecretKey::~SecretKey() { sodium_memzero(key_.data(), key_.size()); }

std::string SecretKey::id() const { return key_id(key_.data()); }

SecretKey::Opened SecretKey::open(const std::filesystem::path& path) {
  ensure_sodium();
  static_assert(crypto_secretbox_KEYBYTES == 32);
  Opened opened;
  const auto secret = read_secret_file(path, "the key file");
  if (!secret.secret) {
    opened.error = secret.error;
    return opened;
  }
  // The file holds the key in hex (64 characters), so an administrator can copy it.
  const std::string& hex = secret.secret->reveal();
  unsigned char bytes[32];
  std::size_t length = 0;
  if (hex.size() != 64 ||
      sodium_hex2bin(bytes, sizeof bytes, hex.data(), hex.size(), nullptr, &length, nullptr) != 0 ||
      length != sizeof bytes) {
    opened.error = "the key file " + path.string() + " does not hold a convene key (64 hex digits)";
    return opened;
  }
  opened.key.emplace(SecretKey(path, bytes));
  sodium_memzero(bytes, sizeof bytes);
  return opened;
}

SecretKey::Opened SecretKey::open_or_create(const std::filesystem::path& path) {
  ensure_sodium();
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return open(path);
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  sodium_memzero(bytes, sizeof bytes);
  Opened opened;
  // A temporary file in the same folder, created 0600, then linked into place without
  // replacing a key another process may have created meanwhile.
  std::string tmp = path.string() + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    opened.error = "cannot create the key file " + path.string() + ": " + std::strerror(errno);
    sodium_memzero(hex, sizeof hex);
    return opened;
  }
  ::fchmod(fd, 0600);
  std::string content = std::string(hex, 64) + "\n";
  sodium_memzero(hex, sizeof hex);
  const bool written = ::write(fd, content.data(), content.size()) == ssize_t(content.size()) &&
                       ::fsync(fd) == 0;
  sodium_memzero(content.data(), content.size());
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    opened.error = "cannot write the key file " + path.string() + ": " + std::strerror(errno);
    return opened;
  }
  if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    const int err = errno;
    ::unlink(tmp.c_str());
    opened.error = "cannot create the key file " + path.string() + ": " + std::strerror(err);
    return opened;
  }
  ::unlink(tmp.c_str());
  return open(path);
}

std::string SecretKey::seal(const Secret& secret) const {
  ensure_sodium();
  const std::string& plain = secret.reveal();
  std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        key_.data());
  std::string b64(sodium_base64_encoded_len(box.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(box.data()), box.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  return std::string(kSealedPrefix) + id() + ":" + b64;
}

SecretResult SecretKey::unseal(std::string_view sealed) const {
  ensure_sodium();
  SecretResult result;
  const std::string mine = std::string(kSealedPrefix) + id() + ":";
  if (sealed.substr(0, kSealedPrefix.size()) != kSealedPrefix) {
    result.error = "the sealed secret is not in convene's form";
    return result;
  }
  if (sealed.substr(0, mine.size()) != mine) {
    result.error = "the secret was sealed with another key than the key file " + path_.string() +
                   " (key id " + id() + ")";
    return result;
  }
  const std::string_view b64 = sealed.substr(mine.size());
  std::string box(b64.size(), '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(box.data()), box.size(), b64.data(), b64.size(),
                        nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      length < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    result.error = "the sealed secret is damaged";
    return result;
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(box.data());
  std::string plain(length - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, length - crypto_secretbox_NONCEBYTES,
                                 nonce, key_.data()) != 0) {
    result.error = "the sealed secret does not open with the key file " + path_.string() + " (damaged?)";
    return result;
  }
  result.secret.emplace(std::move(plain));
  return result;
}

// --- SecretRef ------------------------------------------------------------------------

SecretRef SecretRef::file(std::filesystem::path path) { return {Kind::file, path.string()}; }
SecretRef SecretRef::env(std::string name) { return {Kind::env, std::move(name)}; }
SecretRef SecretRef::sealed(std::string sealed) { return {Kind::sealed, std::move(sealed)}; }

std::optional<SecretRef> SecretRef::from_json(const nlohmann::json& value, std::string& error) {
  if (value.is_object() && value.size() == 1) {
    const auto it = value.begin();
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (v.is_string()) {
      if (key == "file") return file(v.get<std::string>());
      if (key == "env") return env(v.get<std::string>());
      if (key == "sealed") return sealed(v.get<std::string>());
    }
  }
  error = "a secret is {\"file\": PATH}, {\"env\": NAME} or {\"sealed\": ...}";
  return std::nullopt;
}

nlohmann::json SecretRef::to_json() const {
  switch (kind_) {
    case Kind::file: return {{"file", value_}};
    case Kind::env: return {{"env", value_}};
    case Kind::sealed: break;
  }
  return {{"sealed", value_}};
}

std::string SecretRef::describe() const {
  switch (kind_) {
    case Kind::file: return "file " + value_;
    case Kind::env: return "environment variable " + value_;
    case Kind::sealed: break;
  }
  return "sealed in the store";
}

SecretResult SecretRef::resolve(const SecretKey* key) const {
  switch (kind_) {
    case Kind::file: return read_secret_file(value_, "the password file");
    case Kind::env: return read_secret_env(value_);
    case Kind::sealed: break;
  }
  if (!key) {
    SecretResult result;
    result.error = "the secret is sealed in the store, and no key file was given to open it";
    return result;
  }
  return key->unseal(value_);
}

}  // namespace convene
