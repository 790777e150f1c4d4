#pragma once
// 3-D MRoPE position ids of a Qwen3-VL prompt (transformers' get_rope_index): text tokens count up on
// all three axes; the tokens of an image sit on a (t, h/2, w/2) grid offset by the position where
// the image starts; text after an image resumes at max + 1. rope_delta = (max + 1) - length, the
// offset that decoding adds to the cache index.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"

namespace kspam::model {

// One image's patch grid, in 16-px (patch_size) units: t temporal groups, h rows, w columns.
struct ImageGrid {
  std::int64_t t = 1, h = 0, w = 0;
  std::int64_t patches() const { return t * h * w; }
};

struct RopePositions {
  std::array<std::vector<std::int64_t>, 3> axis;  // T, H, W; each of the prompt's length
  std::int64_t delta = 0;
};

inline std::int64_t image_token_count(const std::vector<ImageGrid>& grids, std::int64_t merge) {
  std::int64_t n = 0;
  for (const auto& g : grids) n += g.t * (g.h / merge) * (g.w / merge);
  return n;
}

inline RopePositions rope_positions(const std::vector<std::int64_t>& ids, const std::vector<ImageGrid>& grids,
                                    std::int64_t image_token_id, std::int64_t merge) {
  const std::int64_t pads = std::count(ids.begin(), ids.end(), image_token_id);
  const std::int64_t needed = image_token_count(grids, merge);
  if (pads != needed) {
    throw InputError("<prompt>", 0, "input_ids", std::to_string(pads),
                     "the prompt's image-pad token count does not match its images, which need " +
                         std::to_string(needed));
  }
  RopePositions out;
  for (auto& a : out.axis) a.reserve(ids.size());
  std::int64_t next = 0;  // next free position
  std::size_t image = 0;
  std::size_t i = 0;
  auto push = [&](std::int64_t t, std::int64_t h, std::int64_t w) {
    out.axis[0].push_back(t);
    out.axis[1].push_back(h);
    out.axis[2].push_back(w);
  };
  while (i < ids.size()) {
    if (ids[i] != image_token_id) {
      push(next, next, next);
      ++next;
      ++i;
      continue;
    }
    const ImageGrid& g = grids[image++];
    const std::int64_t gh = g.h / merge, gw = g.w / merge;
    const std::int64_t base = next;
    std::int64_t max_pos = base;
    for (std::int64_t t = 0; t < g.t; ++t) {
      for (std::int64_t r = 0; r < gh; ++r) {
        for (std::int64_t c = 0; c < gw; ++c) {
          push(base + t, base + r, base + c);
          max_pos = std::max({max_pos, base + t, base + r, base + c});
        }
      }
    }
    next = max_pos + 1;
    i += static_cast<std::size_t>(g.t * gh * gw);
  }
  out.delta = next - static_cast<std::int64_t>(ids.size());
  return out;
}

}  // namespace kspam::model
