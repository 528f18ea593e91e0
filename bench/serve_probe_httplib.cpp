// Probe for docs/server.md: cpp-httplib serving fixed bytes (see serve_probe.sh).
#include <httplib.h>
#include <cstdlib>
#include <string>
int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 18081;
  const std::string body(std::size_t(argc > 2 ? std::atoi(argv[2]) : 20000), 'x');
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(1000000);
  server.Get("/feed.ics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("ETag", "\"abc\"");
    res.set_content(body, "text/calendar; charset=utf-8");
  });
  server.listen("127.0.0.1", port);
}
