#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/csv_writer.hpp"
#include "kspam/core/hash.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/core/utf8.hpp"

using namespace kspam;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("kspam-core-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

TEST_CASE("json: writes ordered, escaped, round-trips through the parser") {
  json::Value v = json::Value::object();
  v["zeta"] = 1;
  v["alpha"] = "quote \" backslash \\ newline \n tab \t ctrl \x01 ✨";
  v["pi"] = 3.141592653589793;
  v["nan"] = std::nan("");
  v["list"] = std::vector<int>{1, 2, 3};
  v["nested"]["ok"] = true;
  const std::string text = v.dump();
  CHECK(text.find("\"zeta\"") < text.find("\"alpha\""));  // insertion order kept
  CHECK(text.find("\\u0001") != std::string::npos);
  const auto back = json::parse(text);
  CHECK(back.find("alpha")->as_string() == v.find("alpha")->as_string());
  CHECK(back.find("pi")->as_double() == 3.141592653589793);
  CHECK(back.find("nan")->is_null());  // JSON has no NaN
  CHECK(back.find("nested")->find("ok")->as_bool());
  CHECK(back.find("list")->as_array().size() == 3);
}

TEST_CASE("json: parse errors are input errors naming the origin") {
  try {
    json::parse("{\"a\": ", "cfg.json");
    FAIL("expected an error");
  } catch (const InputError& e) {
    CHECK(e.file() == "cfg.json");
  }
}

TEST_CASE("atomic writes: complete file or nothing") {
  const auto target = scratch("out.txt");
  write_file_atomically(target, "first");
  CHECK(read_file(target) == "first");
  try {
    AtomicFileWriter writer(target);
    writer.stream() << "half written";
    throw std::runtime_error("interrupted");
  } catch (const std::runtime_error&) {
  }
  CHECK(read_file(target) == "first");  // the old content survives an interrupted write
  std::size_t leftovers = 0;
  for (const auto& entry : fs::directory_iterator(target.parent_path()))
    leftovers += entry.path().filename().string().find(".tmp-") != std::string::npos;
  CHECK(leftovers == 0);
  fs::remove_all(target.parent_path());
}

TEST_CASE("csv: quotes only what needs quoting") {
  CHECK(csv_escape("plain") == "plain");
  CHECK(csv_escape("a,b") == "\"a,b\"");
  CHECK(csv_escape("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_escape("two\nlines") == "\"two\nlines\"");
  CHECK(csv_number(0.1) == "0.1");
  CHECK(csv_number(std::nan("")).empty());
}

TEST_CASE("hashes: standard test vectors") {
  CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("utf8: rejects overlongs, surrogates, truncation") {
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("Ünïcödé ✨ 日本語 😀"));
  CHECK(find_invalid_utf8("ok\xC0\x80") == 2u);        // overlong NUL
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0u);      // surrogate
  CHECK(find_invalid_utf8("abc\xE2\x9C") == 3u);       // truncated
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0u);  // above U+10FFFF
}

TEST_CASE("parallel_for: visits every index once and rethrows failures") {
  std::vector<int> hits(10000, 0);
  parallel_for(0, hits.size(), [&](std::size_t i) { hits[i] += 1; }, 4, 16);
  CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  CHECK_THROWS_AS(parallel_for(0, 100, [](std::size_t i) { if (i == 57) throw InputError("x", "boom"); }, 4),
                  InputError);
}
