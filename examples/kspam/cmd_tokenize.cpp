// kspam tokenize: JSONL {"text": ...} lines on stdin -> {"ids": [...]} lines on stdout, with the
// Qwen3 tokenizer (identical ids to Hugging Face tokenizers).
#include <iostream>
#include <memory>
#include <string>

#include "cli.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/text/tokenizer.hpp"

namespace kspam::cli {
namespace {

struct TokenizeArgs {
  std::string tokenizer;
  bool decode = false;
};

const CommandRegistrar registrar{{
    "tokenize",
    "Tokenize JSONL {\"text\": ...} lines from stdin into {\"ids\": [...]} lines (Qwen3 tokenizer)",
    [](CLI::App& app) {
      auto args = std::make_shared<TokenizeArgs>();
      app.add_option("--tokenizer", args->tokenizer,
                     "tokenizer.json (default: the one scripts/setup.sh installs)");
      app.add_flag("--decode", args->decode, "The other way: {\"ids\": [...]} lines in, {\"text\": ...} lines out");
      app.callback([args] {
        const auto tok = text::load_tokenizer(args->tokenizer);
        std::ios::sync_with_stdio(false);
        std::string line, out;
        std::size_t line_no = 0;
        while (std::getline(std::cin, line)) {
          ++line_no;
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.find_first_not_of(" \t") == std::string::npos) continue;
          const json::Value v = json::parse(line, "<stdin>:" + std::to_string(line_no));
          out.clear();
          if (args->decode) {
            const json::Value* ids = v.find("ids");
            if (!ids || !ids->is_array())
              throw InputError("<stdin>", line_no, "ids", line, "expected an object with an \"ids\" array");
            std::vector<text::TokenId> list;
            for (const auto& id : ids->as_array()) {
              if (!id.is_int() || id.as_int() < 0 || id.as_int() > 0xFFFFFFFFLL)
                throw InputError("<stdin>", line_no, "ids", id.dump(-1), "token ids must be non-negative integers");
              list.push_back(static_cast<text::TokenId>(id.as_int()));
            }
            out = "{\"text\":";
            json::Value::write_string(out, tok.decode(list));
            out += "}\n";
          } else {
            const json::Value* text = v.find("text");
            if (!text || !text->is_string())
              throw InputError("<stdin>", line_no, "text", line, "expected an object with a \"text\" string");
            out = "{\"ids\":[";
            bool first = true;
            for (const auto id : tok.encode(text->as_string())) {
              if (!first) out += ',';
              first = false;
              out += std::to_string(id);
            }
            out += "]}\n";
          }
          std::cout << out;
        }
        std::cout.flush();
      });
    }}};

}  // namespace
}  // namespace kspam::cli
