// What an administrator sets once (the database path, the listen address, the public
// base URL, the access log), and where each value comes from.
//
// Each setting is resolved in this order; the first that gives a non-empty value wins:
//   1. the command-line flag         --db          --listen         --base-url        --access-log
//   2. the environment               CONVENE_DB    CONVENE_LISTEN   CONVENE_BASE_URL  CONVENE_ACCESS_LOG
//   3. the configuration file        db            listen           base_url          access_log
//   4. the default                   ./convene.db  127.0.0.1:8080   (none)            -  (standard output)
// The configuration file is --config FILE, else $CONVENE_CONFIG, else
// /etc/convene/convene.conf when it exists (a file named by --config or CONVENE_CONFIG
// must exist). It is read with CLI11's own config parser (TOML/INI: `key = "value"`,
// `#` comments):
//
//   # /etc/convene/convene.conf
//   db = "/var/lib/convene/convene.db"
//   listen = "127.0.0.1:8080"
//   base_url = "https://cop.example.org"
//   access_log = "-"
//
// A key the table below does not know, a [section], a key given twice, a file that is
// not a regular file or is larger than kMaxConfigBytes are refused (SettingsError,
// naming the file and the key); so is a base_url that is not an absolute http(s) URL.
// `convene config` prints every setting with its value and where it came from.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace convene::cli {

enum class Setting { db, listen, base_url, access_log };

struct SettingInfo {
  Setting setting;
  std::string_view key;       // in the configuration file
  std::string_view env;       // the environment variable
  std::string_view flag;      // the command-line flag
  std::string_view fallback;  // the default ("" = none)
  std::string_view what;      // one line for `convene config` and the docs
};
const std::array<SettingInfo, 4>& setting_table();
const SettingInfo& info(Setting setting);

// The build's ${sysconfdir}/convene/convene.conf (CMake's CONVENE_DEFAULT_CONFIG).
#ifndef CONVENE_DEFAULT_CONFIG
#define CONVENE_DEFAULT_CONFIG "/etc/convene/convene.conf"
#endif
inline constexpr std::string_view kDefaultConfigPath = CONVENE_DEFAULT_CONFIG;
inline constexpr std::size_t kMaxConfigBytes = 64 * 1024;

class SettingsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A setting's value and where it came from: "flag --db", "environment CONVENE_DB",
// "file /etc/convene/convene.conf", "default".
struct Resolved {
  std::string value;  // empty: no value (only base_url has no default)
  std::string origin;
};

class Settings {
 public:
  // Reads the configuration file named by `config_flag` (--config), else
  // $CONVENE_CONFIG, else kDefaultConfigPath if it exists. Throws SettingsError.
  static Settings load(const std::string& config_flag);

  // `flag` is the flag's value ("" when not given).
  Resolved resolve(Setting setting, const std::string& flag) const;
  std::string value(Setting setting, const std::string& flag) const { return resolve(setting, flag).value; }
  // The configuration file read ("" when none).
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::map<Setting, std::string> from_file_;
};

}  // namespace convene::cli
