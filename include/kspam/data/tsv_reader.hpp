#pragma once
// Reads tab-separated files as pandas (`to_csv(sep='\t')`) and Python's csv module write them:
// a header row, QUOTE_MINIMAL quoting (a quoted field may hold tabs, line breaks and doubled
// quotes), LF or CRLF line ends, an optional UTF-8 byte-order mark, blank lines skipped.
// Streams through a fixed buffer, so files of any size can be read record by record.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"

namespace kspam::data {

struct TsvRecord {
  std::size_t line = 0;  // 1-based physical line where the record starts (the header is line 1)
  std::vector<std::string> fields;
};

class TsvReader {
 public:
  // `origin` names the input in error messages (normally the file path).
  TsvReader(std::istream& in, std::string origin, char separator = '\t')
      : in_(&in), origin_(std::move(origin)), separator_(separator), buffer_(1 << 20) {}

  explicit TsvReader(const std::string& path, char separator = '\t')
      : owned_(std::make_unique<std::ifstream>(path, std::ios::binary)), in_(owned_.get()), origin_(path),
        separator_(separator), buffer_(1 << 20) {
    if (!*owned_) throw InputError(path, "cannot open file");
  }

  const std::string& origin() const { return origin_; }
  std::size_t bytes_read() const { return bytes_consumed_; }

  // Reads the next non-blank record; false at end of input. Throws InputError on a quoted field
  // that never closes.
  bool next(TsvRecord& record) {
    for (;;) {
      if (!read_record(record)) return false;
      if (!(record.fields.size() == 1 && record.fields[0].empty())) return true;
    }
  }

 private:
  int peek() {
    if (pos_ == end_ && !refill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_]);
  }
  int get() {
    const int c = peek();
    if (c >= 0) {
      ++pos_;
      ++bytes_consumed_;
    }
    return c;
  }
  bool refill() {
    if (eof_) return false;
    in_->read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    end_ = static_cast<std::size_t>(in_->gcount());
    pos_ = 0;
    if (end_ == 0) {
      eof_ = true;
      return false;
    }
    if (first_chunk_) {
      first_chunk_ = false;
      if (end_ >= 3 && static_cast<unsigned char>(buffer_[0]) == 0xEF &&
          static_cast<unsigned char>(buffer_[1]) == 0xBB && static_cast<unsigned char>(buffer_[2]) == 0xBF) {
        pos_ = 3;  // UTF-8 byte-order mark
        bytes_consumed_ += 3;
      }
    }
    return pos_ < end_ || refill();
  }

  // Consumes a line end (LF, CRLF or a lone CR) when one is next.
  bool take_line_end(int c) {
    if (c == '\n') {
      get();
      ++line_;
      return true;
    }
    if (c == '\r') {
      get();
      if (peek() == '\n') get();
      ++line_;
      return true;
    }
    return false;
  }

  // Fields are parsed straight into the record's existing strings, so a reader that reuses its
  // record allocates nothing per row once the strings have grown.
  bool read_record(TsvRecord& record) {
    if (peek() < 0) return false;
    record.line = line_;
    std::size_t count = 0;
    for (;;) {
      if (count == record.fields.size()) record.fields.emplace_back();
      std::string& field = record.fields[count++];
      field.clear();
      int c = peek();
      if (c == '"') {
        // Quoted field: runs to the closing quote; "" inside is one quote.
        get();
        const std::size_t opened_on = line_;
        for (;;) {
          c = get();
          if (c < 0) {
            throw InputError(origin_, opened_on, "", "", "quoted field is never closed");
          }
          if (c == '"') {
            if (peek() == '"') {
              get();
              field += '"';
            } else {
              break;
            }
          } else {
            if (c == '\n' || (c == '\r' && peek() != '\n')) ++line_;
            field += static_cast<char>(c);
          }
        }
        // Like Python's csv (strict=False), text after the closing quote belongs to the field.
        c = peek();
        while (c >= 0 && c != separator_ && c != '\n' && c != '\r') {
          field += static_cast<char>(get());
          c = peek();
        }
      } else {
        // Unquoted field: scan the buffer in bulk up to the next separator or line end.
        for (;;) {
          if (pos_ == end_ && !refill()) break;
          const char* begin = buffer_.data() + pos_;
          const char* stop = buffer_.data() + end_;
          const char* p = begin;
          while (p != stop && *p != separator_ && *p != '\n' && *p != '\r') ++p;
          field.append(begin, p);
          const auto taken = static_cast<std::size_t>(p - begin);
          pos_ += taken;
          bytes_consumed_ += taken;
          if (p != stop) break;
        }
        c = peek();
      }
      if (c == separator_) {
        get();
        continue;
      }
      if (c < 0 || take_line_end(c)) {
        record.fields.resize(count);
        return true;
      }
    }
  }

  std::unique_ptr<std::ifstream> owned_;
  std::istream* in_;
  std::string origin_;
  char separator_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::size_t line_ = 1;
  std::size_t bytes_consumed_ = 0;
  bool eof_ = false;
  bool first_chunk_ = true;
};

// Writes one TSV field with QUOTE_MINIMAL rules, so TsvReader, pandas and csv read it back.
inline std::string tsv_escape(const std::string& field) {
  if (field.find_first_of("\t\"\n\r") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace kspam::data
