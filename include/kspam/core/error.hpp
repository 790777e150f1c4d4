#pragma once
// Errors carry context. InputError is the user's data being wrong (the CLI exits 2 and prints one
// line "error: FILE:LINE: what is wrong"); Error is everything else (exit 1).
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace kspam {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InputError : public Error {
 public:
  // line and column are 1-based; 0 means "not applicable" and is left out of the message.
  InputError(std::string file, std::size_t line, std::string column, std::string value, std::string problem)
      : Error(format(file, line, column, value, problem)),
        file_(std::move(file)), line_(line), column_(std::move(column)), value_(std::move(value)),
        problem_(std::move(problem)) {}

  InputError(std::string file, std::string problem) : InputError(std::move(file), 0, "", "", std::move(problem)) {}

  const std::string& file() const noexcept { return file_; }
  std::size_t line() const noexcept { return line_; }
  const std::string& column() const noexcept { return column_; }
  const std::string& value() const noexcept { return value_; }
  const std::string& problem() const noexcept { return problem_; }

 private:
  static std::string shorten(const std::string& value) {
    constexpr std::size_t kMax = 80;
    return value.size() <= kMax ? value : value.substr(0, kMax) + "...";
  }
  static std::string format(const std::string& file, std::size_t line, const std::string& column,
                            const std::string& value, const std::string& problem) {
    std::string out = file.empty() ? std::string("<input>") : file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
    if (!column.empty()) out += "column '" + column + "': ";
    out += problem;
    if (!value.empty()) out += " (got '" + shorten(value) + "')";
    return out;
  }

  std::string file_;
  std::size_t line_;
  std::string column_;
  std::string value_;
  std::string problem_;
};

}  // namespace kspam
