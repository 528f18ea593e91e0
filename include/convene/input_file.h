// convene/input_file.h: reading a file someone else wrote, within bounds.
//
// Definitions and ICS files are read only when they are regular files, and only up to a
// size: a path that names a FIFO, a terminal, /dev/zero, /dev/urandom, a socket or a
// folder is refused at once with a message, never read until memory runs out or waited
// on forever. The file is opened with O_NONBLOCK | O_NOCTTY (so opening a FIFO with no
// writer returns at once, and a terminal never becomes the controlling one), checked
// with fstat, and read to at most max_size + 1 bytes (a file that grows past the limit
// while it is read is caught too).
//
// How to use:
//   auto file = convene::read_input_file(path, limits.max_file_size);
//   if (!file) report(path + ": cannot read the definitions file: " + file.error);
#pragma once

#include <cstddef>
#include <string>

namespace convene {

struct InputFile {
  std::string text;   // the whole content, when error is empty
  std::string error;  // why not: "it is a FIFO (a named pipe), not a regular file",
                      // "No such file or directory", "it is larger than the limit of ..."
  explicit operator bool() const { return error.empty(); }
};

// Reads the regular file at `path` whole, if it holds at most `max_size` bytes.
InputFile read_input_file(const std::string& path, std::size_t max_size);

// "16 MiB", "512 KiB", "1000 bytes": a size for messages.
std::string format_size(std::size_t bytes);

}  // namespace convene
