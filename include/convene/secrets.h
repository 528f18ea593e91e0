// convene/secrets.h: passwords and API credentials, read where they are used and never shown.
//
// A target's password (an SMTP login, a CalDAV account, later an OAuth client secret)
// reaches convene in one of three ways, and a target's configuration records which
// (a SecretRef), never the secret itself in clear:
//   - a file: a regular file owned by the user running convene, with no permission for
//     group or others (mode 0600 or 0400). Anything else is refused with a message that
//     says so ("... has mode 0644; a secret file must be readable by its owner only:
//     chmod 600 ..."). The file is read again at every use, so rotating it needs no
//     command; one trailing newline is dropped.
//   - an environment variable, named in the configuration, read at every use.
//   - sealed in the store: read once (from a file or the environment) and kept in the
//     target's configuration encrypted with XSalsa20-Poly1305 (libsodium's
//     crypto_secretbox) under a 256-bit key kept in a key file beside (not inside) the
//     database. The key file is created 0600 from the OS CSPRNG (randombytes_buf) on
//     first use, and held to the same mode rule as a secret file afterwards.
//
// A Secret is revealed only by reveal(), at the one place that hands it to libcurl; it
// has no stream operator and no conversion, and its bytes are wiped (sodium_memzero)
// when it goes away. SecretRef::describe() ("file /etc/convene/smtp.pass", "environment
// variable SMTP_PASSWORD", "sealed in the store") is what listings and logs show.
//
// How to use:
//   auto ref = convene::SecretRef::file("/etc/convene/smtp.pass");
//   if (auto error = ref.check(); !error.empty()) fail(error);       // at `target add`
//   auto key = convene::SecretKey::open_or_create("convene.db.key");  // only for sealed refs
//   auto secret = ref.resolve(key.key ? &*key.key : nullptr);         // at `sync`
//   if (!secret.secret) fail(secret.error); else use(secret.secret->reveal());
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace convene {

// The largest secret file convene reads (passwords and service-account files are far
// smaller; anything bigger is not a secret file).
inline constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

class Secret {
 public:
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret& other) : value_(other.value_) {}
  Secret& operator=(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  void wipe() noexcept;
  std::string value_;
};

struct SecretResult {
  std::optional<Secret> secret;
  std::string error;  // one sentence naming the file or variable; never the secret
};

// Reads a secret file by the rule above. `what` names where the path came from in
// messages ("--password-file").
SecretResult read_secret_file(const std::filesystem::path& path, std::string_view what);
// Reads a secret from the environment variable `name` (set and not empty).
SecretResult read_secret_env(std::string_view name);

// The key that seals secrets kept in the store.
class SecretKey {
 public:
  struct Opened;
  // Opens the key file at `path`, creating it (0600, 32 bytes from the CSPRNG, written
  // to a temporary file and renamed, so a crash never leaves half a key) when absent.
  static Opened open_or_create(const std::filesystem::path& path);
  // Opens an existing key file (for reading sealed secrets; a missing file is an error).
  static Opened open(const std::filesystem::path& path);

  // base64 of nonce || ciphertext, prefixed with the key's id ("k1:<id>:<...>"), so a
  // secret sealed under another key is recognised as such.
  std::string seal(const Secret& secret) const;
  SecretResult unseal(std::string_view sealed) const;
  // The first 8 bytes of BLAKE2b(key), hex: names the key without revealing it.
  std::string id() const;
  const std::filesystem::path& path() const { return path_; }

  SecretKey(const SecretKey& other);
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

 private:
  SecretKey(std::filesystem::path path, const unsigned char* bytes);
  std::filesystem::path path_;
  std::array<unsigned char, 32> key_{};
};

struct SecretKey::Opened {
  std::optional<SecretKey> key;
  std::string error;
};

// Where a target's secret comes from, as its configuration stores it:
// {"file": PATH} | {"env": NAME} | {"sealed": "k1:..."}.
class SecretRef {
 public:
  enum class Kind { file, env, sealed };
  static SecretRef file(std::filesystem::path path);
  static SecretRef env(std::string name);
  static SecretRef sealed(std::string sealed);
  // From a configuration's JSON; nullopt (with `error` set) when it is none of the three.
  static std::optional<SecretRef> from_json(const nlohmann::json& value, std::string& error);
  nlohmann::json to_json() const;

  Kind kind() const { return kind_; }
  const std::string& value() const { return value_; }
  // "file /etc/convene/smtp.pass", "environment variable SMTP_PASSWORD", "sealed in the store"
  std::string describe() const;
  // The secret. A sealed ref needs the key (else an error naming what is missing).
  SecretResult resolve(const SecretKey* key) const;

 private:
  SecretRef(Kind kind, std::string value) : kind_(kind), value_(std::move(value)) {}
  Kind kind_;
  std::string value_;
};

}  // namespace convene
