// Probe for docs/server.md: Boost.Beast (asio, async, N threads) serving fixed bytes.
#include <utility>  // Boost 1.74 asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
static std::string body;
struct Session : std::enable_shared_from_this<Session> {
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  explicit Session(tcp::socket s) : stream(std::move(s)) {}
  void read() {
    req = {};
    http::async_read(stream, buffer, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->res = http::response<http::string_body>(http::status::ok, 11);
      self->res.set(http::field::content_type, "text/calendar; charset=utf-8");
      self->res.set(http::field::etag, "\"abc\"");
      self->res.body() = body;
      self->res.keep_alive(self->req.keep_alive());
      self->res.prepare_payload();
      http::async_write(self->stream, self->res, [self](beast::error_code ec, std::size_t) {
        if (!ec) self->read();
      });
    });
  }
};
void accept(tcp::acceptor& a) {
  a.async_accept([&a](beast::error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<Session>(std::move(s))->read();
    accept(a);
  });
}
int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 18082;
  body.assign(std::size_t(argc > 2 ? std::atoi(argv[2]) : 20000), 'x');
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  asio::io_context io{threads};
  tcp::acceptor a{io, {asio::ip::make_address("127.0.0.1"), (unsigned short)port}};
  accept(a);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  io.run();
}
