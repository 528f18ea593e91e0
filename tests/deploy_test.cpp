// Deployment as docs/deploy.md describes it: the Debian package CPack builds (its files,
// its conffile, its dependencies, installable with apt), the systemd unit it holds
// (systemd-analyze verify, and its exposure), and Debian's nginx with the sample site
// (docs/deploy/nginx-convene.conf) proxying over TLS to `convene serve` on loopback,
// which takes its settings from a configuration file.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "servers.h"
#include "test_support.h"

namespace convene {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;
using testing::TempDir;

const std::string kPrefix = CONVENE_INSTALL_PREFIX;
const std::string kConfigFile = CONVENE_CONFIG_FILE;

std::string rel(const std::string& absolute) { return "." + absolute; }

// Builds the package from this build tree into `dir`; returns the .deb's path.
fs::path build_package(const fs::path& dir) {
  auto r = testing::run({"cpack", "-G", "DEB", "-B", dir.string(), "--config",
                         (testing::binary_dir() / "CPackConfig.cmake").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".deb") return e.path();
  ADD_FAILURE() << "no .deb in " << dir << ": " << r.out;
  return {};
}

class DeployPackage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    deb_ = new fs::path(build_package(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete deb_;
    delete dir_;
  }
  static TempDir* dir_;
  static fs::path* deb_;
};
TempDir* DeployPackage::dir_ = nullptr;
fs::path* DeployPackage::deb_ = nullptr;

TEST_F(DeployPackage, HoldsTheBinaryTheUnitTheConfigurationAndTheDocs) {
  ASSERT_FALSE(deb_->empty());
  EXPECT_EQ(deb_->filename().string().rfind("convene_", 0), 0u) << *deb_;
  auto listing = testing::run({"dpkg-deb", "-c", deb_->string()});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  for (const std::string& path :
       {kPrefix + "/bin/convene", kPrefix + "/lib/systemd/system/convene.service", kPrefix + "/lib/systemd/system/convene-worker.service",
        kPrefix + "/lib/sysusers.d/convene.conf",
        kConfigFile, kPrefix + "/share/doc/convene/deploy.md", kPrefix + "/share/doc/convene/cli.md",
        kPrefix + "/share/doc/convene/README.md", kPrefix + "/share/doc/convene/examples/nginx-convene.conf"}) {
    EXPECT_NE(listing.out.find(" " + rel(path) + "\n"), std::string::npos) << path << " not in:\n" << listing.out;
  }
  // Only the binary users run: no test build, no tests.
  EXPECT_EQ(listing.out.find("convene-testing"), std::string::npos) << listing.out;
  EXPECT_EQ(listing.out.find("_test"), std::string::npos) << listing.out;
  // The packaged binary runs, and has no test hooks.
  TempDir root;
  ASSERT_EQ(testing::run({"dpkg-deb", "-x", deb_->string(), root.path().string()}).exit_code, 0);
  const fs::path binary = root.path() / rel(kPrefix + "/bin/convene");
  auto version = testing::run({binary.string(), "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out.rfind("convene ", 0), 0u) << version.out;
  EXPECT_EQ(testing::read_file(binary).find("CONVENE_TEST_"), std::string::npos);
}

TEST_F(DeployPackage, NamesItsLibrariesAndKeepsTheConfigurationAsAConffile) {
  ASSERT_FALSE(deb_->empty());
  auto control = testing::run({"dpkg-deb", "-f", deb_->string(), "Package", "Version", "Architecture", "Depends"});
  ASSERT_EQ(control.exit_code, 0) << control.err;
  EXPECT_NE(control.out.find("Package: convene\n"), std::string::npos) << control.out;
  std::smatch depends;
  const std::regex line("Depends: ([^\n]*)");
  ASSERT_TRUE(std::regex_search(control.out, depends, line)) << control.out;
  // dpkg-shlibdeps named the packages of the libraries the binary links, with versions.
  for (const char* package : {"libc6 (>=", "libstdc++6 (>=", "libical3 (>=", "libsqlite3-0 (>=", "libdate-tz3", "tzdata"}) {
    EXPECT_NE(depends[1].str().find(package), std::string::npos) << package << " not in " << depends[1];
  }
  TempDir control_dir;
  ASSERT_EQ(testing::run({"dpkg-deb", "-e", deb_->string(), control_dir.path().string()}).exit_code, 0);
  EXPECT_EQ(testing::read_file(control_dir / "conffiles"), kConfigFile + "\n");
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    EXPECT_TRUE(fs::exists(control_dir / script)) << script;
    EXPECT_EQ(fs::status(control_dir / script).permissions() & fs::perms::owner_exec, fs::perms::owner_exec) << script;
    auto syntax = testing::run({"/bin/sh", "-n", (control_dir / script).string()});
    EXPECT_EQ(syntax.exit_code, 0) << script << ": " << syntax.err;
  }
  // apt finds everything it needs (simulated: nothing is installed on this machine).
  auto apt = testing::run({"apt-get", "install", "--simulate", "--no-download", deb_->string()});
  EXPECT_EQ(apt.exit_code, 0) << apt.out << apt.err;
  EXPECT_NE(apt.out.find("Inst convene "), std::string::npos) << apt.out;
}

TEST_F(DeployPackage, TheUnitsPassSystemdAnalyzeAndAreHardened) {
  ASSERT_FALSE(deb_->empty());
  TempDir root;
  ASSERT_EQ(testing::run({"dpkg-deb", "-x", deb_->string(), root.path().string()}).exit_code, 0);
  // convene serve, and the reminders worker beside it from the same files.
  for (const auto& [name, verb] : {std::pair<std::string, std::string>{"convene.service", "serve"}, {"convene-worker.service", "worker"}}) {
    SCOPED_TRACE(name);
    const std::string unit = testing::read_file(root / rel(kPrefix + "/lib/systemd/system/" + name));
    const std::string exec = "ExecStart=" + kPrefix + "/bin/convene " + verb + " --config " + kConfigFile + "\n";
    ASSERT_NE(unit.find(exec), std::string::npos) << unit;
    for (const char* line : {"User=convene\n", "StateDirectory=convene\n", "ProtectSystem=strict\n",
                             "NoNewPrivileges=yes\n", "PrivateTmp=yes\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n",
                             "CapabilityBoundingSet=\n"}) {
      EXPECT_NE(unit.find(line), std::string::npos) << line;
    }
    // verify checks that ExecStart exists on this machine: point it at the packaged binary.
    std::string local = unit;
    local.replace(local.find(exec), exec.size(),
                  "ExecStart=" + (root / rel(kPrefix + "/bin/convene")).string() + " " + verb + " --config " + kConfigFile + "\n");
    TempDir units;
    testing::write_file(units / name, local);
    auto verify = testing::run({"systemd-analyze", "verify", (units / name).string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_EQ(verify.out + verify.err, "") << "systemd-analyze verify has remarks";
    // Exposure (0 best, 10 worst) at most 2.0: --threshold is ten times that.
    auto security = testing::run({"systemd-analyze", "security", "--offline=yes", "--threshold=20", (units / name).string()});
    EXPECT_EQ(security.exit_code, 0) << security.out << security.err;
    EXPECT_NE(security.out.find("Overall exposure level for " + name + ": "), std::string::npos) << security.out;
  }
  // The system user the unit names is the one the package creates.
  EXPECT_NE(testing::read_file(root / rel(kPrefix + "/lib/sysusers.d/convene.conf")).find("\nu convene "),
            std::string::npos);
}

// `cmake --install` (staged with DESTDIR, as packagers do) installs what the package holds.
TEST_F(DeployPackage, CmakeInstallPutsTheSameFilesInPlace) {
  ASSERT_FALSE(deb_->empty());
  TempDir stage;
  auto installed = testing::run({"cmake", "--install", testing::binary_dir().string()}, "",
                                {{"DESTDIR", stage.path().string()}});
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(stage.path()))
    if (e.is_regular_file()) files.push_back("./" + fs::relative(e.path(), stage.path()).string());
  std::sort(files.begin(), files.end());
  auto listing = testing::run({"dpkg-deb", "-c", deb_->string()});
  std::vector<std::string> packaged;
  std::istringstream lines(listing.out);
  for (std::string line; std::getline(lines, line);)
    if (line[0] == '-') packaged.push_back(line.substr(line.rfind(' ') + 1));
  std::sort(packaged.begin(), packaged.end());
  EXPECT_EQ(files, packaged);
  EXPECT_GE(files.size(), 8u);
}

// --- nginx in front of convene ------------------------------------------------------

int free_port() {
  testing::RefusingPort probe;  // bound to a port the kernel chose; released at once
  return probe.port();
}

// Replaces the one occurrence of `from` (the sample must still have that shape).
void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "the nginx sample no longer has \"" << from << "\"";
  ASSERT_EQ(text.find(from, at + 1), std::string::npos) << "\"" << from << "\" is in the sample twice";
  text.replace(at, from.size(), to);
}

struct Fetched {
  long status = 0;
  std::string body, headers, error;
  long http_version = 0;
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Request {
  std::string url;
  std::vector<std::string> headers;
  std::string resolve;  // "host:port:127.0.0.1"
  std::string ca_file;
  std::string post;     // non-empty: a POST with this body
};

Fetched fetch(const Request& request) {
  Fetched f;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  curl_slist* resolve = request.resolve.empty() ? nullptr : curl_slist_append(nullptr, request.resolve.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (resolve) curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.post.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.post.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &f.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  const CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) f.error = curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f.status);
  curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &f.http_version);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  curl_easy_cleanup(curl);
  return f;
}

std::string header(const Fetched& f, const std::string& name) {
  std::smatch m;
  const std::regex pattern("(^|\n)" + name + ": ([^\r\n]*)", std::regex::icase);
  return std::regex_search(f.headers, m, pattern) ? m[2].str() : "";
}

const char* kHost = "cop.example.org";

TEST(DeployNginx, ServesTheFeedsOverTlsFromConveneOnLoopback) {
  TempDir dir;
  const std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-02-01T09:00:00Z"}};
  // convene, set up as deploy.md says: a store, a configuration file, `convene serve`.
  const std::string db = (dir / "convene.db").string();
  testing::write_file(dir / "convene.conf", "db = \"" + db + "\"\nlisten = \"127.0.0.1:0\"\nbase_url = \"https://" +
                                                std::string(kHost) + "\"\naccess_log = \"" +
                                                (dir / "convene-access.log").string() + "\"\n");
  const std::string config = (dir / "convene.conf").string();
  const auto clean = std::vector<std::string>{"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "CONVENE_NOW=2027-02-01T09:00:00Z"};
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = clean;
    argv.push_back(testing::cli_path().string());
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run(argv);
  };
  ASSERT_EQ(cli({"import", (testing::source_dir() / "tests/data/store/definitions.json").string(), "--config", config}).exit_code, 0);
  auto added = cli({"member", "add", "rosa", "--email", "rosa@example.org", "--config", config, "--format", "json"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string member_url = nlohmann::json::parse(added.out)["url"];
  ASSERT_EQ(member_url.rfind("https://cop.example.org/feeds/members/", 0), 0u) << added.out;
  ASSERT_EQ(cli({"subscribe", "rosa", "nurses", "--config", config}).exit_code, 0);

  std::vector<std::string> serve = clean;
  serve.insert(serve.end(), {testing::cli_path().string(), "serve", "--config", config});
  std::string error;
  auto convene = ChildProcess::start(serve, R"(on http://127\.0\.0\.1:(\d+)/)", error);
  ASSERT_TRUE(convene) << error;
  const std::string convene_port = convene->match();

  // A self-signed certificate for cop.example.org, made here.
  auto cert = testing::run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                            std::string("/CN=") + kHost, "-addext", std::string("subjectAltName=DNS:") + kHost,
                            "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()});
  ASSERT_EQ(cert.exit_code, 0) << cert.err;

  // The sample site, with this test's ports and certificate.
  const int https_port = free_port(), http_port = free_port();
  std::string site = testing::read_file(testing::source_dir() / "docs/deploy/nginx-convene.conf");
  replace_once(site, "server 127.0.0.1:8080;", "server 127.0.0.1:" + convene_port + ";");
  replace_once(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port) + ";");
  replace_once(site, "listen [::]:80;", "");
  replace_once(site, "listen 443 ssl http2;", "listen 127.0.0.1:" + std::to_string(https_port) + " ssl http2;");
  replace_once(site, "listen [::]:443 ssl http2;", "");
  replace_once(site, "/etc/letsencrypt/live/cop.example.org/fullchain.pem", (dir / "cert.pem").string());
  replace_once(site, "/etc/letsencrypt/live/cop.example.org/privkey.pem", (dir / "key.pem").string());
  testing::write_file(dir / "site.conf", site);
  fs::create_directories(dir / "nginx-temp");
  const passwd* me = ::getpwuid(::geteuid());
  std::string main_conf = "daemon off;\nworker_processes 1;\npid " + (dir / "nginx.pid").string() +
                          ";\nerror_log stderr notice;\n";
  if (::geteuid() == 0) main_conf += "user " + std::string(me->pw_name) + ";\n";
  main_conf += "events { worker_connections 64; }\nhttp {\n  access_log " + (dir / "nginx-access.log").string() + ";\n";
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    main_conf += "  " + std::string(temp) + "_temp_path " + (dir / "nginx-temp" / temp).string() + ";\n";
  main_conf += "  include " + (dir / "site.conf").string() + ";\n}\n";
  testing::write_file(dir / "nginx.conf", main_conf);
  auto nginx = ChildProcess::start({"/usr/sbin/nginx", "-p", dir.path().string(), "-c", (dir / "nginx.conf").string(),
                                    "-e", "stderr"},
                                   "start worker process", error);
  ASSERT_TRUE(nginx) << error;

  const std::string https = "https://" + std::string(kHost) + ":" + std::to_string(https_port);
  const std::string resolve = std::string(kHost) + ":" + std::to_string(https_port) + ":127.0.0.1";
  const std::string ca = (dir / "cert.pem").string();
  // The feed through nginx is convene's, byte for byte, over HTTP/2 with a verified certificate.
  const Fetched direct = fetch({"http://127.0.0.1:" + convene_port + "/feeds/all.ics", {}, "", "", ""});
  ASSERT_EQ(direct.status, 200) << direct.error;
  const Fetched proxied = fetch({https + "/feeds/all.ics", {}, resolve, ca, ""});
  ASSERT_EQ(proxied.status, 200) << proxied.error << nginx->output_tail();
  EXPECT_EQ(proxied.http_version, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(proxied.body, direct.body);
  EXPECT_NE(proxied.body.find("BEGIN:VCALENDAR"), std::string::npos);
  EXPECT_EQ(header(proxied, "etag"), header(direct, "etag"));
  EXPECT_FALSE(header(proxied, "strict-transport-security").empty());
  // Revalidation and gzip pass through.
  const Fetched again = fetch({https + "/feeds/all.ics", {"If-None-Match: " + header(direct, "etag")}, resolve, ca, ""});
  EXPECT_EQ(again.status, 304) << again.headers;
  const Fetched gz = fetch({https + "/feeds/all.ics", {"Accept-Encoding: gzip"}, resolve, ca, ""});
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(header(gz, "content-encoding"), "gzip") << gz.headers;
  // A member's feed works through nginx, and neither log holds the token.
  const std::string member_path = member_url.substr(std::string("https://cop.example.org").size());
  const Fetched member = fetch({https + member_path, {}, resolve, ca, ""});
  EXPECT_EQ(member.status, 200) << member.error;
  const std::string token = member_path.substr(member_path.rfind('/') + 1, 43);
  // Plain HTTP is a redirect to HTTPS; methods other than GET and HEAD stop at nginx.
  const Fetched plain = fetch({"http://" + std::string(kHost) + ":" + std::to_string(http_port) + "/feeds/all.ics", {},
                               std::string(kHost) + ":" + std::to_string(http_port) + ":127.0.0.1", "", ""});
  EXPECT_EQ(plain.status, 301);
  EXPECT_EQ(header(plain, "location"), "https://cop.example.org/feeds/all.ics");
  const Fetched post = fetch({https + "/feeds/all.ics", {}, resolve, ca, "x=1"});
  EXPECT_EQ(post.status, 403);
  // /healthz answers this machine.
  const Fetched health = fetch({https + "/healthz", {}, resolve, ca, ""});
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"status\":\"ok\""), std::string::npos) << health.body;
  // The subscribe page links to the public address of the configuration file.
  const Fetched page = fetch({https + "/", {}, resolve, ca, ""});
  EXPECT_NE(page.body.find("webcal://cop.example.org/feeds/all.ics"), std::string::npos) << page.body.substr(0, 2000);

  nginx->stop();
  convene->stop();
  const std::string convene_log = testing::read_file(dir / "convene-access.log");
  EXPECT_NE(convene_log.find("GET /feeds/all.ics"), std::string::npos) << convene_log;
  EXPECT_EQ(convene_log.find(token), std::string::npos);
  const std::string nginx_log = fs::exists(dir / "nginx-access.log") ? testing::read_file(dir / "nginx-access.log") : "";
  EXPECT_EQ(nginx_log.find(token), std::string::npos);
}

}  // namespace
}  // namespace convene
