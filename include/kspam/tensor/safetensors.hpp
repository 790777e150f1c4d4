#pragma once
// safetensors reading and writing (https://github.com/huggingface/safetensors, format: 8-byte
// little-endian header length N, N bytes of JSON, then the raw tensor bytes).
//
// Reading memory-maps the file and validates everything before any tensor is handed out: header
// length, JSON syntax, dtypes, shapes against byte ranges, ranges inside the data area, overlaps and
// duplicate names. A corrupt or hostile file becomes an InputError naming the file and the tensor,
// never a crash. Host-only (simdjson); tensors reach device code as plain pointers.
//
//   tensor::SafetensorsFile f("model.safetensors");
//   std::vector<float> w = f.get("lm_head.weight").to_f32();
//
//   tensor::SafetensorsWriter out;
//   out.add_f32("logits", {seq, vocab}, data);
//   out.write("logits.safetensors");            // atomic
//
// Sharded checkpoints (model.safetensors.index.json) are read through tensor::Checkpoint.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/tensor/dtype.hpp"
#include "kspam/tensor/half.hpp"

namespace kspam::tensor {

inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A read-only view of one tensor's bytes inside a mapped file (valid while the file object lives).
// The bytes may be unaligned (the format does not promise alignment), so element access copies.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;

  std::size_t numel() const { return dtype_size(dtype) == 0 ? 0 : nbytes / dtype_size(dtype); }

  // Any floating dtype widened to f32 (bf16/f16 exactly), or integers converted (for convenience).
  std::vector<float> to_f32() const {
    std::vector<float> out(numel());
    copy_f32(out.data());
    return out;
  }
  void copy_f32(float* out) const {
    const std::size_t n = numel();
    switch (dtype) {
      case DType::F32: std::memcpy(out, data, n * 4); break;
      case DType::BF16:
      case DType::F16:
        for (std::size_t i = 0; i < n; ++i) {
          std::uint16_t v;
          std::memcpy(&v, data + 2 * i, 2);
          out[i] = dtype == DType::BF16 ? bf16_to_f32(v) : f16_to_f32(v);
        }
        break;
      case DType::I64:
      case DType::I32:
      case DType::U8: {
        const auto ints = to_i64();
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(ints[i]);
        break;
      }
    }
  }
  // Integer dtypes widened to int64. Floating tensors are refused: silently truncating them would
  // hide a wrong file.
  std::vector<std::int64_t> to_i64() const {
    const std::size_t n = numel();
    std::vector<std::int64_t> out(n);
    switch (dtype) {
      case DType::I64: std::memcpy(out.data(), data, n * 8); break;
      case DType::I32:
        for (std::size_t i = 0; i < n; ++i) {
          std::int32_t v;
          std::memcpy(&v, data + 4 * i, 4);
          out[i] = v;
        }
        break;
      case DType::U8:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(data[i]);
        break;
      default:
        throw InputError("", 0, name, std::string(dtype_name(dtype)), "expected an integer tensor");
    }
    return out;
  }
};

namespace detail {

// Read-only memory mapping of a whole file, shared by every view handed out.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InputError(path.string(), "cannot open file");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw InputError(path.string(), "not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw InputError(path.string(), "cannot memory-map file");
      }
      data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
  }
  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

inline bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace detail

// One .safetensors file. Holds its mapping; views stay valid while this object (or a copy) lives.
class SafetensorsFile {
 public:
  // The header may be at most this large (the reference implementation's limit is 100 MB).
  static constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

  explicit SafetensorsFile(const std::filesystem::path& path)
      : origin_(path.string()), mapping_(std::make_shared<detail::MappedFile>(path)) {
    parse({mapping_->data(), mapping_->size()});
  }

  // Parses bytes the caller keeps alive (used by the fuzzer and by tests of hostile input).
  static SafetensorsFile from_bytes(std::span<const std::byte> bytes, std::string origin = "<memory>") {
    SafetensorsFile f;
    f.origin_ = std::move(origin);
    f.parse(bytes);
    return f;
  }

  const std::string& path() const { return origin_; }
  // Tensor names in header order.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(std::string_view name) const { return index_.find(std::string(name)) != index_.end(); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const TensorView& get(std::string_view name) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end()) throw InputError(origin_, 0, "", std::string(name), "no tensor with this name");
    return tensors_[it->second];
  }
  const std::vector<TensorView>& tensors() const { return tensors_; }

 private:
  SafetensorsFile() = default;

  [[noreturn]] void fail(const std::string& problem, const std::string& tensor = "") const {
    throw InputError(origin_, 0, "", tensor, "invalid safetensors file: " + problem);
  }

  void parse(std::span<const std::byte> bytes) {
    if (bytes.size() < 8) fail("shorter than the 8-byte header length");
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<std::uint8_t>(bytes[i]);
    if (header_len > kMaxHeaderBytes) fail("header length " + std::to_string(header_len) + " is too large");
    if (header_len > bytes.size() - 8) {
      fail("header length " + std::to_string(header_len) + " runs past the end of the " +
           std::to_string(bytes.size()) + "-byte file");
    }
    const std::byte* data_begin = bytes.data() + 8 + header_len;
    const std::uint64_t data_size = bytes.size() - 8 - header_len;

    simdjson::dom::parser parser;
    simdjson::padded_string header(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
    simdjson::dom::element root;
    if (auto error = parser.parse(header).get(root)) {
      fail(std::string("header is not valid JSON (") + simdjson::error_message(error) + ")");
    }
    simdjson::dom::object object;
    if (root.get_object().get(object)) fail("header is not a JSON object");

    struct Range {
      std::uint64_t begin, end;
      std::size_t tensor;
    };
    std::vector<Range> ranges;
    for (auto field : object) {
      const std::string key(field.key);
      if (key == "__metadata__") {
        simdjson::dom::object meta;
        if (field.value.get_object().get(meta)) fail("__metadata__ is not an object");
        for (auto m : meta) {
          std::string_view v;
          if (m.value.get_string().get(v)) fail("__metadata__ values must be strings", std::string(m.key));
          metadata_[std::string(m.key)] = std::string(v);
        }
        continue;
      }
      if (index_.count(key)) fail("tensor name appears twice", key);
      simdjson::dom::object entry;
      if (field.value.get_object().get(entry)) fail("tensor entry is not an object", key);

      TensorView view;
      view.name = key;
      std::string_view dtype_text;
      if (entry["dtype"].get_string().get(dtype_text)) fail("missing or non-string 'dtype'", key);
      auto dtype = dtype_from_name(dtype_text);
      if (!dtype) fail("unsupported dtype '" + std::string(dtype_text) + "' (F32, F16, BF16, I64, I32, U8)", key);
      view.dtype = *dtype;

      simdjson::dom::array shape;
      if (entry["shape"].get_array().get(shape)) fail("missing or non-array 'shape'", key);
      std::uint64_t numel = 1;
      for (auto d : shape) {
        std::uint64_t dim;
        if (d.get_uint64().get(dim)) fail("shape entries must be non-negative integers", key);
        if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
            !detail::checked_mul(numel, dim, numel)) {
          fail("shape overflows", key);
        }
        view.shape.push_back(static_cast<std::int64_t>(dim));
      }
      simdjson::dom::array offsets;
      if (entry["data_offsets"].get_array().get(offsets) || offsets.size() != 2) {
        fail("'data_offsets' must be an array of two integers", key);
      }
      std::uint64_t begin, end;
      if (offsets.at(0).get_uint64().get(begin) || offsets.at(1).get_uint64().get(end)) {
        fail("'data_offsets' must be non-negative integers", key);
      }
      if (begin > end) fail("data_offsets begin after they end", key);
      if (end > data_size) {
        fail("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + ") run past the " +
                 std::to_string(data_size) + "-byte data area",
             key);
      }
      std::uint64_t expected;
      if (!detail::checked_mul(numel, dtype_size(view.dtype), expected) || expected != end - begin) {
        fail("shape " + shape_string(view.shape) + " of " + std::string(dtype_text) + " needs " +
                 std::to_string(numel) + " elements but data_offsets hold " + std::to_string(end - begin) + " bytes",
             key);
      }
      view.data = data_begin + begin;
      view.nbytes = static_cast<std::size_t>(end - begin);
      ranges.push_back({begin, end, tensors_.size()});
      index_[key] = tensors_.size();
      names_.push_back(key);
      tensors_.push_back(std::move(view));
    }
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    for (std::size_t i = 1; i < ranges.size(); ++i) {
      // Empty tensors occupy no bytes and cannot overlap anything.
      if (ranges[i].begin == ranges[i].end || ranges[i - 1].begin == ranges[i - 1].end) continue;
      if (ranges[i].begin < ranges[i - 1].end) {
        fail("byte range of '" + tensors_[ranges[i].tensor].name + "' overlaps '" +
                 tensors_[ranges[i - 1].tensor].name + "'",
             tensors_[ranges[i].tensor].name);
      }
    }
  }

  std::string origin_;
  std::shared_ptr<detail::MappedFile> mapping_;
  std::vector<TensorView> tensors_;
  std::vector<std::string> names_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint directory (or a single file): model.safetensors, or shards listed by
// model.safetensors.index.json ("weight_map": name -> shard file). Every shard is opened and
// validated up front, and each name must live exactly where the index says.
class Checkpoint {
 public:
  explicit Checkpoint(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    if (fs::is_regular_file(path)) {
      add_shard(path);
      for (const auto& name : shards_[0].names()) where_[name] = 0;
      return;
    }
    if (!fs::is_directory(path)) throw InputError(path.string(), "no such checkpoint file or directory");
    const fs::path index = path / "model.safetensors.index.json";
    if (fs::exists(index)) {
      load_index(path, index);
    } else if (fs::exists(path / "model.safetensors")) {
      add_shard(path / "model.safetensors");
      for (const auto& name : shards_[0].names()) where_[name] = 0;
    } else {
      throw InputError(path.string(), "no model.safetensors or model.safetensors.index.json in this directory");
    }
  }

  bool contains(std::string_view name) const { return where_.find(std::string(name)) != where_.end(); }
  const TensorView& get(std::string_view name) const {
    auto it = where_.find(std::string(name));
    if (it == where_.end()) throw InputError(description(), 0, "", std::string(name), "checkpoint has no tensor with this name");
    return shards_[it->second].get(name);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(where_.size());
    for (const auto& [name, shard] : where_) out.push_back(name);
    return out;
  }
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  std::string description() const { return shards_.empty() ? std::string("<checkpoint>") : shards_[0].path(); }

 private:
  void add_shard(const std::filesystem::path& p) { shards_.emplace_back(p); }

  void load_index(const std::filesystem::path& dir, const std::filesystem::path& index_path) {
    const std::string origin = index_path.string();
    simdjson::dom::parser parser;
    simdjson::padded_string text;
    if (simdjson::padded_string::load(index_path.string()).get(text)) throw InputError(origin, "cannot read file");
    simdjson::dom::element root;
    if (auto error = parser.parse(text).get(root)) {
      throw InputError(origin, std::string("invalid JSON: ") + simdjson::error_message(error));
    }
    simdjson::dom::object map;
    if (root["weight_map"].get_object().get(map)) throw InputError(origin, "missing object 'weight_map'");
    std::map<std::string, std::size_t> shard_of_file;
    for (auto field : map) {
      std::string_view file;
      const std::string name(field.key);
      if (field.value.get_string().get(file)) throw InputError(origin, 0, "weight_map", name, "shard must be a file name");
      const std::filesystem::path rel(std::string{file});
      if (rel.is_absolute() || rel.filename() != rel || file.empty()) {
        throw InputError(origin, 0, "weight_map", std::string(file), "shard must be a plain file name in the directory");
      }
      auto [it, inserted] = shard_of_file.emplace(std::string(file), shards_.size());
      if (inserted) add_shard(dir / rel);
      if (where_.count(name)) throw InputError(origin, 0, "weight_map", name, "tensor listed twice");
      if (!shards_[it->second].contains(name)) {
        throw InputError(shards_[it->second].path(), 0, "", name, "tensor listed in the index is missing from this shard");
      }
      where_[name] = it->second;
    }
  }

  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::size_t> where_;
};

// Collects tensors and writes them as one safetensors file (atomically). The data is copied at
// add() time, so callers may free their buffers afterwards. Header keys come in the order added.
class SafetensorsWriter {
 public:
  void add(const std::string& name, DType dtype, std::vector<std::int64_t> shape, std::span<const std::byte> bytes) {
    if (name.empty() || name == "__metadata__") throw Error("safetensors writer: invalid tensor name '" + name + "'");
    for (const auto& t : tensors_) {
      if (t.name == name) throw Error("safetensors writer: tensor '" + name + "' added twice");
    }
    std::uint64_t numel = 1;
    for (auto d : shape) {
      if (d < 0) throw Error("safetensors writer: negative dimension in '" + name + "'");
      numel *= static_cast<std::uint64_t>(d);
    }
    if (numel * dtype_size(dtype) != bytes.size()) {
      throw Error("safetensors writer: '" + name + "' has shape " + shape_string(shape) + " but " +
                  std::to_string(bytes.size()) + " bytes of " + std::string(dtype_name(dtype)));
    }
    tensors_.push_back({name, dtype, std::move(shape), std::vector<std::byte>(bytes.begin(), bytes.end())});
  }

  void add_f32(const std::string& name, std::vector<std::int64_t> shape, std::span<const float> values) {
    add(name, DType::F32, std::move(shape), std::as_bytes(values));
  }
  void add_bf16(const std::string& name, std::vector<std::int64_t> shape, std::span<const float> values) {
    std::vector<std::uint16_t> bits(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) bits[i] = f32_to_bf16(values[i]);
    add(name, DType::BF16, std::move(shape), std::as_bytes(std::span<const std::uint16_t>(bits)));
  }
  void add_i64(const std::string& name, std::vector<std::int64_t> shape, std::span<const std::int64_t> values) {
    add(name, DType::I64, std::move(shape), std::as_bytes(values));
  }
  void add_i32(const std::string& name, std::vector<std::int64_t> shape, std::span<const std::int32_t> values) {
    add(name, DType::I32, std::move(shape), std::as_bytes(values));
  }
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // The header JSON padded with spaces to a multiple of 8 bytes, so tensor data starts aligned.
  // (Written by hand rather than through core/json.hpp so this header stays light for the fuzzer.)
  std::string header() const {
    std::string h = "{";
    if (!metadata_.empty()) {
      h += "\"__metadata__\":{";
      bool first = true;
      for (const auto& [k, v] : metadata_) {
        if (!first) h += ',';
        first = false;
        append_json_string(h, k);
        h += ':';
        append_json_string(h, v);
      }
      h += '}';
    }
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      if (h.size() > 1) h += ',';
      append_json_string(h, t.name);
      h += ":{\"dtype\":\"" + std::string(dtype_name(t.dtype)) + "\",\"shape\":[";
      for (std::size_t i = 0; i < t.shape.size(); ++i) h += (i ? "," : "") + std::to_string(t.shape[i]);
      h += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.bytes.size()) + "]}";
      offset += t.bytes.size();
    }
    h += '}';
    h.append((8 - h.size() % 8) % 8, ' ');
    return h;
  }

  void write(const std::filesystem::path& path) const {
    const std::string head = header();
    AtomicFileWriter out(path);
    char len[8];
    std::uint64_t n = head.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.stream().write(len, 8);
    out.stream().write(head.data(), static_cast<std::streamsize>(head.size()));
    for (const auto& t : tensors_) {
      out.stream().write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
    }
    out.commit();
  }

  std::size_t size() const { return tensors_.size(); }

 private:
  static void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        static const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }

  struct Pending {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> bytes;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace kspam::tensor
