// Reading input files within bounds (convene/input_file.h).
#include "convene/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace convene {

namespace {

// What a file that is not a regular one is, for the message.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (a named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string too_large(std::size_t max_size) {
  return "it is larger than the limit of " + format_size(max_size) +
         " (raise the limit with --max-input-size)";
}

}  // namespace

std::string format_size(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 30) && bytes % (std::size_t{1} << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (std::size_t{1} << 10) && bytes % (std::size_t{1} << 10) == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

InputFile read_input_file(const std::string& path, std::size_t max_size) {
  InputFile out;
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  const Descriptor file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.error = std::string("it is ") + kind_of(st.st_mode) + ", not a regular file";
    return out;
  }
  if (st.st_size < 0 || static_cast<unsigned long long>(st.st_size) > max_size) {
    out.error = too_large(max_size);
    return out;
  }
  // A regular file: blocking reads from here on (O_NONBLOCK only kept the open from
  // waiting on a FIFO).
  if (const int flags = ::fcntl(fd, F_GETFL); flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  // Read to one byte past the limit: a file that grew since fstat is caught.
  out.text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t have = 0;
  while (true) {
    if (have == out.text.size()) {
      if (out.text.size() > max_size) break;
      out.text.resize(std::min(max_size + 1, out.text.size() * 2 + 4096));
    }
    const ssize_t n = ::read(fd, out.text.data() + have, out.text.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = std::string("read error: ") + std::strerror(errno);
      out.text.clear();
      return out;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  if (have > max_size) {
    out.error = too_large(max_size);
    out.text.clear();
    return out;
  }
  out.text.resize(have);
  return out;
}

}  // namespace convene
