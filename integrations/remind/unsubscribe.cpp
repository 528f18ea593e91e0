// One-click unsubscribe (RFC 8058) for reminders and notices (convene/remind.h): each
// member's token, and the routes `convene serve` answers it on.
#include <sodium.h>

#include <sstream>

#include "convene/accounts.h"
#include "convene/html.h"
#include "convene/http.h"
#include "convene/remind.h"

namespace convene::remind {

namespace {

// The key of the tokens, in the store (Accounts::key): every process agrees on it.
constexpr std::string_view kKeyName = "unsubscribe";
constexpr std::size_t kMacChars = 43;  // 32 bytes of base64url without padding

std::string mac_of(Store& store, std::string_view member) {
  const std::string key = Accounts(store).key(kKeyName);
  const std::string message = "unsubscribe:" + std::string(member);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char text[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return text;
}

// True for a weekly digest's link (?only=digest).
bool digest_only(const http::Request& req) {
  const auto query = req.query_params();
  return query && query->get("only") == "digest";
}

std::string page(std::string_view title, std::string_view body) {
  std::ostringstream out;
  out << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" << html::text(title)
      << "</title></head><body><main><h1>" << html::text(title) << "</h1>" << body << "</main></body></html>\n";
  return out.str();
}

}  // namespace

std::string unsubscribe_token(Store& store, std::string_view member) {
  return std::string(member) + "." + mac_of(store, member);
}

std::optional<std::string> unsubscribe_member(Store& store, std::string_view token) {
  const auto dot = token.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || token.size() - dot - 1 != kMacChars) return std::nullopt;
  const std::string member(token.substr(0, dot));
  const std::string want = mac_of(store, member);
  if (sodium_memcmp(want.data(), token.data() + dot + 1, kMacChars) != 0) return std::nullopt;
  return member;
}

std::string unsubscribe_url(std::string_view base_url, std::string_view token, bool digest_only) {
  return std::string(base_url) + "/unsubscribe/" + html::query_component(token) + (digest_only ? "?only=digest" : "");
}

void add_unsubscribe_routes(http::Router& router, Store& store) {
  // The page a person opens from the link: it asks first (a GET changes nothing, so a
  // mail scanner following links unsubscribes nobody).
  router.get("/unsubscribe/{token}", [&store](const http::Request& req, http::Response& res) {
    const auto member = unsubscribe_member(store, req.param("token"));
    const auto who = member ? store.member(*member) : std::nullopt;
    if (!who) return void(res.error(404));
    res.cache("no-store");
    if (digest_only(req)) {
      return void(res.html(200, page("Stop the weekly digest?",
                                "<p>Stop the weekly digest convene sends to " + html::text(who->email) +
                                    "? Reminders and change notices still come.</p><form method=\"post\"><input "
                                    "type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button "
                                    "type=\"submit\">Stop the digest</button></form>")));
    }
    res.html(200, page("Stop reminders?",
                       "<p>Stop the reminders and change notices convene sends to " + html::text(who->email) +
                           "?</p><form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
                           "value=\"One-Click\"><button type=\"submit\">Stop reminders</button></form>"));
  });
  // RFC 8058: the mail client's one-click POST (List-Unsubscribe=One-Click), or the form.
  router.post(
      "/unsubscribe/{token}",
      [&store](const http::Request& req, http::Response& res) {
        const auto form = req.form();
        if (!form || form->get("List-Unsubscribe") != "One-Click") return void(res.error(400));
        const auto member = unsubscribe_member(store, req.param("token"));
        if (!member || !store.member(*member)) return void(res.error(404));
        // A digest's link stops the digest (its own footer says so), the others' the
        // reminders and notices: each what its message says it stops.
        const bool digest = digest_only(req);
        MemberUpdate update;
        if (digest) update.digest = std::optional<DigestTime>{};
        else update.reminder_channel = "none";
        store.update_member(*member, update,
                            {.actor = "unsubscribe",
                             .reason = digest ? "one-click unsubscribe from the weekly digest (RFC 8058)"
                                              : "one-click unsubscribe (RFC 8058)"});
        res.cache("no-store");
        if (digest)
          return void(res.html(200, page("Weekly digest stopped",
                                    "<p>convene sends you no more weekly digests. Reminders and change notices still "
                                    "come; your calendar feed is unchanged.</p>")));
        res.html(200, page("Reminders stopped",
                           "<p>convene sends you no more reminders or change notices. Your calendar feed is "
                           "unchanged.</p>"));
      },
      {.max_body_bytes = 1024});
}

}  // namespace convene::remind
