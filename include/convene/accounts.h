// convene/accounts.h: the people who change the schedule from the web, and the keys
// other tools use, kept in the store (convene/store.h) beside what they change.
//
// Three kinds of credential, all secrets, all kept only as hashes:
//   - a user's password (facilitators and administrators of the workspace). The store
//     keeps the string libsodium's crypto_pwhash_str writes (Argon2id, its salt and cost
//     in the string); hashing and checking happen in the web layer (integrations/web/),
//     which hands the store the finished string. A new user has no password: `convene
//     user add` issues a one-time link to set one (kPasswordLinkLifetime).
//   - a sign-in session (the workspace's cookie) and a one-time password link: 32 random
//     bytes (getrandom) as 43 characters of base64url, stored as their SHA-256, found by
//     hash and compared in constant time, as members' feed tokens are.
//   - an API token (the JSON API's bearer token), the same way, scoped to communities.
//
// Roles are per community: an administrator may change every community's sessions; a
// facilitator only those of the communities listed for them. The web layer checks the
// role on every action (may_change()).
//
// Sign-in is rate-limited by failures recorded here (so every process sharing the store
// sees them): kMaxSignInFailures wrong passwords for one account, or kMaxClientFailures
// from one client address, within kSignInWindow, and further attempts are refused until
// the oldest of them leaves the window.
//
// Changes to users and API tokens are audited like every other change (history shows
// who added whom); sessions and failed attempts are not (they are not facts anyone
// changes on purpose) and do not move the store's data_version, so signing in never makes
// a feed or page be rendered again.
//
// How to use:
//   convene::Accounts accounts(*store);
//   auto link = accounts.add_user({.email = "ana@district.example", .name = "Ana",
//                                  .role = convene::Role::facilitator,
//                                  .communities = {"school-nurses"}}, {.actor = "admin"});
//   // ... the web layer, when Ana opens the link and chooses a password:
//   accounts.set_password(link.token, convene::web::hash_password(password));
//   auto session = accounts.start_session("ana@district.example");
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/store.h"
#include "convene/time.h"

namespace convene {

// What a user may do.
enum class Role {
  admin,        // every community, and the users and API tokens
  facilitator,  // the sessions of the communities listed for the user
};
std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

// A one-time password link is good for this long after it is issued.
inline constexpr std::chrono::hours kPasswordLinkLifetime{72};
// A sign-in session ends this long after it starts, however active.
inline constexpr std::chrono::hours kSessionLifetime{12};
// Sign-in throttling (see the header comment).
inline constexpr std::chrono::minutes kSignInWindow{15};
inline constexpr int kMaxSignInFailures = 5;
inline constexpr int kMaxClientFailures = 20;

struct User {
  std::string email;                    // the id: lower case
  std::string name;
  Role role = Role::facilitator;
  std::vector<std::string> communities;  // a facilitator's; empty for an administrator
  bool has_password = false;
  Instant created{};

  // Whether the user may change the sessions of `community`.
  bool may_change(std::string_view community) const;
};

struct UserSpec {
  std::string email;
  std::string name;
  Role role = Role::facilitator;
  std::vector<std::string> communities;  // must name communities of the store
};

// A secret shown once: a password link's or an API token's.
struct IssuedSecret {
  std::string token;   // 43 characters of base64url
  Instant expires{};   // a password link's end (unset for API tokens)
};

struct SignInSession {
  User user;
  Instant started{};
  Instant expires{};
};

struct ApiTokenSpec {
  std::string name;                       // letters, digits, - _ . (unique)
  std::vector<std::string> communities;   // the communities it may read and change
  bool all_communities = false;           // instead of `communities`
};

struct ApiToken {
  std::string name;
  std::vector<std::string> communities;
  bool all_communities = false;
  Instant created{};
  std::optional<Instant> last_used;
  bool may_change(std::string_view community) const;
};

class Accounts {
 public:
  // Over `store`, which must outlive it. Uses the store's connection and lock.
  explicit Accounts(Store& store);

  // --- users ---
  // Adds a user and issues their first password link. Throws StoreError(invalid) for a
  // malformed email or name, an unknown community, a facilitator without communities,
  // an administrator with some, or a user who exists.
  IssuedSecret add_user(const UserSpec& spec, const ChangeContext& context);
  // Replaces role and communities (same checks as add_user).
  User update_user(std::string_view email, Role role, const std::vector<std::string>& communities,
                   const ChangeContext& context);
  // Removes the user, their sessions and their links.
  void remove_user(std::string_view email, const ChangeContext& context);
  std::optional<User> user(std::string_view email) const;
  std::vector<User> users() const;
  // A new one-time link for an existing user (a forgotten password); earlier links of
  // theirs stop working.
  IssuedSecret issue_password_link(std::string_view email, const ChangeContext& context);

  // --- passwords ---
  // The user a password link is for, while it is unused and unexpired.
  std::optional<User> password_link_user(std::string_view token) const;
  // Spends the link: stores `password_hash` (a crypto_pwhash_str string) as the user's
  // password and ends their sessions. nullopt when the link is unknown, spent or expired.
  std::optional<User> set_password(std::string_view token, const std::string& password_hash);
  // The stored crypto_pwhash_str string, or nullopt (no such user, or no password yet).
  std::optional<std::string> password_hash(std::string_view email) const;

  // --- sign-in throttling ---
  // Records a failed sign-in for the account and the client address.
  void record_failure(std::string_view email, std::string_view client);
  // When sign-in for (email, client) will be allowed again; nullopt: now.
  std::optional<Instant> throttled_until(std::string_view email, std::string_view client) const;
  // Forgets the account's failures (after a successful sign-in).
  void clear_failures(std::string_view email);

  // --- sessions ---
  // A new session for the user: its secret (the cookie's value) and when it ends.
  IssuedSecret start_session(std::string_view email);
  // The live session this secret names, or nullopt.
  std::optional<SignInSession> session(std::string_view token) const;
  void end_session(std::string_view token);

  // --- API tokens ---
  IssuedSecret add_api_token(const ApiTokenSpec& spec, const ChangeContext& context);
  void revoke_api_token(std::string_view name, const ChangeContext& context);
  std::vector<ApiToken> api_tokens() const;
  // The token this bearer secret names (and notes its use), or nullopt.
  std::optional<ApiToken> find_api_token(std::string_view token);

  // --- keys ---
  // A 32-byte key named `name` ("csrf"), created from the OS CSPRNG on first use and kept
  // in the store, so every process and restart agrees on it. On a read-only store a key
  // that does not exist yet is made for this process only.
  std::string key(std::string_view name);

 private:
  Store& store_;
  std::map<std::string, std::string, std::less<>> process_keys_;  // key()'s read-only fallback
};

}  // namespace convene
