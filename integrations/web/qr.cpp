// QR codes as inline SVG (convene/web.h), from libqrencode.
#include <qrencode.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "convene/html.h"
#include "convene/web.h"

namespace convene::web {

namespace {

// The light margin around a QR code, in modules (ISO/IEC 18004 asks for four).
constexpr int kQuietZone = 4;
// QR codes hold at most 2,953 bytes (version 40, level L); a feed link is ~100.
constexpr std::size_t kMaxQrBytes = 1024;

}  // namespace

std::string qr_svg(std::string_view text, std::string_view label) {
  if (text.size() > kMaxQrBytes || text.find('\0') != std::string_view::npos)
    throw std::invalid_argument("a QR code holds at most " + std::to_string(kMaxQrBytes) + " bytes of text");
  const std::string data(text);
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(QRcode_encodeString8bit(data.c_str(), 0, QR_ECLEVEL_M), QRcode_free);
  if (!code) throw std::runtime_error("libqrencode could not encode the QR code");
  const int width = code->width;
  const int size = width + 2 * kQuietZone;
  std::string path;
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width;) {
      if (!(code->data[y * width + x] & 1)) {
        ++x;
        continue;
      }
      int run = 0;
      while (x + run < width && (code->data[y * width + x + run] & 1)) ++run;
      path += "M" + std::to_string(x + kQuietZone) + " " + std::to_string(y + kQuietZone) + "h" +
              std::to_string(run) + "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  const std::string n = std::to_string(size);
  return "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " + n +
         "\" role=\"img\" aria-label=\"" + html::attribute(label) +
         "\" shape-rendering=\"crispEdges\"><rect width=\"" + n + "\" height=\"" + n +
         "\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path + "\"/></svg>";
}

}  // namespace convene::web
