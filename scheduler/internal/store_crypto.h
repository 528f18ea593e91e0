// What the store needs for members' private feed tokens: random bytes from the OS
// CSPRNG, SHA-256 (FIPS 180-4), base64url (RFC 4648 §5, no padding) and a comparison
// whose time does not depend on where two hashes differ. All of them are libsodium's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace convene::store_internal {

using Sha256Digest = std::array<std::uint8_t, 32>;

// SHA-256 of `data`: sha256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 ...
Sha256Digest sha256(std::string_view data);
std::string to_hex(const std::uint8_t* data, std::size_t size);

// `size` bytes from the OS CSPRNG (libsodium's randombytes_buf: getrandom(2), blocking
// until the pool is seeded). Throws StoreError(io) if libsodium cannot start.
std::string random_bytes(std::size_t size);

// RFC 4648 §5 base64url without padding: 32 bytes → 43 characters.
std::string base64url(std::string_view bytes);

// True when a and b are equal; reads every byte whatever they hold.
bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t size);

// A new private feed token: 32 random bytes, base64url (43 characters, 256 bits).
std::string new_token();

}  // namespace convene::store_internal
