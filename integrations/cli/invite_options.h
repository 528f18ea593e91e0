// What the invitation verbs (commands_target.cpp, commands_sync.cpp) share.
#pragma once

#include <string>

#include "commands.h"

namespace convene::cli {

// The key file of sealed secrets: `flag` when given, else $CONVENE_KEY_FILE, else the
// store's path followed by ".key".
std::string key_file_path(Context& context, const std::string& flag);

}  // namespace convene::cli
