// The server's request path without sockets: what tests and the fuzzer drive directly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "convene/server.h"

namespace convene {

class FeedCatalog;

namespace server_internal {

// The request target as the access log writes it: every run of characters that could
// be (or percent-decode to) a token (20 or more base64url characters, unless all
// lower-case letters, digits and '-' like a series id) becomes "<token>"; bytes that
// would break the log line become '?'; at most 200 characters. The query is kept,
// masked the same way.
std::string loggable_target(std::string_view target);

// Serves `input` as the bytes one connection received, handed to the parser `chunk`
// bytes at a time (0: all at once), exactly as a connection of `convene serve` with
// `options` would, and returns every byte the server would write back, up to the
// point where it would close the connection. No socket, no thread, no timer.
std::string serve_bytes(FeedCatalog& catalog, const ServerOptions& options, std::string_view input,
                        std::size_t chunk = 0);

}  // namespace server_internal
}  // namespace convene
