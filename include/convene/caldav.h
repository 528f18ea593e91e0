// convene/caldav.h: a CalDAV client (RFC 4791) for one calendar collection.
//
// convene keeps one calendar object resource per series in an organizer's calendar
// collection: the master VEVENT, its RECURRENCE-ID overrides and the VTIMEZONEs, with
// the invited members as ATTENDEEs (a server with RFC 6638 scheduling then sends them
// the invitations itself). Writes are conditional, so nothing is ever written twice
// or over someone else's change:
//   - create: PUT to href_for_uid(uid) with If-None-Match: * (412 when it exists, for
//     example after a PUT whose answer was lost: the caller reads it and goes on);
//   - update: PUT with If-Match: the ETag last seen (412 when it changed since: the
//     caller reads it again and re-applies its change to what it read);
//   - remove: DELETE with If-Match (a 404 means it is gone already).
// The href is a function of the UID, so a retry after a crash finds the same resource.
//
// Requests run through libcurl's multi interface, at most `max_connections` at once,
// reusing connections. A server that cannot be reached or refuses the login stops the
// batch with one reason; any other answer is the request's own (Response::status).
//
// How to use:
//   convene::caldav::Client dav({.collection_url = "https://dav.example.org/cop/nurses/",
//                                .username = "cop", .password = secret});
//   if (auto f = dav.check()) fail(f.message);
//   std::vector<convene::caldav::Request> puts = {{convene::caldav::Method::create,
//       dav.href_for_uid("mentoring-monday@convene"), "", ics}};
//   dav.run(puts, [](std::size_t i, const convene::caldav::Response& r) { ... });
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "convene/secrets.h"

namespace convene::caldav {

// Calendar objects and server answers larger than this are refused.
inline constexpr std::size_t kMaxResponseBytes = 8 * 1024 * 1024;

struct Config {
  std::string collection_url;  // http(s)://HOST[:PORT]/path/to/calendar/ (a trailing '/' is added)
  std::string username;        // empty: no authentication
  std::optional<Secret> password;
  std::string ca_file;         // PEM bundle to verify the server with (default: the system's)
  std::size_t max_connections = 4;
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds timeout{60};  // per request
};

// Why `url` is not a collection URL convene accepts (http or https, a host, no user or
// password in it, no query or fragment), or nullopt.
std::optional<std::string> collection_url_error(std::string_view url);

enum class Method {
  create,  // PUT, If-None-Match: *
  update,  // PUT, If-Match: etag
  get,     // GET
  remove,  // DELETE, If-Match: etag when one is given
};

struct Request {
  Method method = Method::get;
  std::string href;  // an absolute URL (href_for_uid)
  std::string etag;  // update, remove: the ETag the change is based on
  std::string body;  // create, update: the calendar object (iCalendar text)
};

struct Response {
  long status = 0;     // the HTTP status; 0 when no answer came (see error)
  std::string etag;    // the ETag header, as sent ("\"abc\"" or W/"abc")
  std::string body;    // GET: the calendar object
  std::string error;   // why there was no answer, or what the server said (short)
};

struct Failure {
  std::string message;
  explicit operator bool() const { return !message.empty(); }
};

class Client {
 public:
  explicit Client(Config config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The absolute URL of the calendar object for `uid`: the collection URL followed by
  // the UID percent-encoded (every byte outside A-Z a-z 0-9 - . _ ~) and ".ics".
  std::string href_for_uid(std::string_view uid) const;
  const std::string& collection_url() const;

  // PROPFIND (Depth: 0) on the collection: empty when it is a calendar collection we may
  // use, else why not (down, login refused, not found, not a calendar).
  Failure check();

  // Runs `requests`, at most max_connections at once. done(i, response) runs on the
  // calling thread as each completes. When the server cannot be reached or refuses the
  // login (401), the batch stops: requests not started get status 0 and the failure's
  // message, and the failure is returned.
  Failure run(std::span<const Request> requests, const std::function<void(std::size_t, const Response&)>& done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convene::caldav
