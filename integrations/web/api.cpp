// The JSON API, /api/v1 (docs/api.md).
#include "site.h"

namespace convene::web::internal {

void add_api_routes(Site::Impl&, http::Router&) {}

}  // namespace convene::web::internal
