// What the verbs that take --webhook-url share (commands_channel.cpp, commands_store.cpp).
#pragma once

#include <string>

#include "commands.h"

namespace convene::cli {

// `url` checked (convene/validate.h: webhook_url_problem, the message naming `flag` and
// never the URL) and sealed with the key file (key_file_path: --key-file, else
// $CONVENE_KEY_FILE, else DB.key, created 0600 on first use). A rehearsal (dry_run)
// checks it and seals nothing (sealing would create the key file): it returns a
// placeholder the store accepts.
std::string sealed_webhook_url(Context& context, const std::string& url, const std::string& flag,
                               const std::string& key_file, bool dry_run);

}  // namespace convene::cli
