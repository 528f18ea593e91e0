// Tokens for members' private feeds and the store's other secrets, through libsodium:
// randombytes_buf (the OS CSPRNG: getrandom(2) on Linux), crypto_hash_sha256,
// sodium_bin2base64 (base64url, no padding), sodium_bin2hex and sodium_memcmp (constant
// time). Tests check the FIPS 180-4 vectors.
#include <sodium.h>

#include "convene/store.h"
#include "internal/store_crypto.h"

namespace convene::store_internal {

namespace {

// sodium_init is idempotent and thread-safe; it fails only when the kernel's random
// source cannot be opened, which makes every secret impossible: the store says so.
void ensure_sodium() {
  static const int status = sodium_init();
  if (status < 0) {
    throw StoreError(StoreError::Kind::io, "cannot initialise libsodium (no random source from the kernel)");
  }
}

}  // namespace

Sha256Digest sha256(std::string_view data) {
  Sha256Digest digest;
  static_assert(sizeof(digest) == crypto_hash_sha256_BYTES);
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return digest;
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  std::string out(2 * size + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();  // the terminating NUL
  return out;
}

std::string random_bytes(std::size_t size) {
  ensure_sodium();
  std::string out(size, '\0');
  randombytes_buf(out.data(), size);
  return out;
}

std::string base64url(std::string_view bytes) {
  constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t size) {
  return sodium_memcmp(a, b, size) == 0;
}

std::string new_token() { return base64url(random_bytes(32)); }

}  // namespace convene::store_internal
