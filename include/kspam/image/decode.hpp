#pragma once
// Decodes JPEG, PNG, GIF (first frame), BMP (stb_image) and WebP (libwebp) into 8-bit RGB, the
// way PIL's Image.open(f).convert("RGB") sees them: grayscale is replicated to three channels,
// palettes are expanded, and alpha is dropped (not composited onto a background), which is what the
// Hugging Face Qwen2-VL processor feeds its resize (docs: qwen3-vl-architecture.md §5.3).
//
// Hostile input is the normal case here (images come from the open web): the format is sniffed from
// the magic bytes (no trust in file names or Content-Type), the declared dimensions are checked
// against a pixel budget before any pixel memory is allocated, and every failure is an InputError
// naming the origin, never a crash. Formats other than the five above (PSD, TGA, HDR, PNM that
// stb_image would also read) are refused: marketplaces do not serve them and each extra parser is
// attack surface. Known differences from PIL: EXIF orientation is ignored by both; animated WebP is
// refused (libwebp's simple decoder reads still images only).
//
// JPEG: PIL decodes with libjpeg-turbo (islow IDCT, fancy upsampling). stb_image's IDCT, chroma
// upsampling and colour conversion round differently and land up to 3 levels away (measured on the
// fixtures), which after resizing breaks the 2/255 parity bound. When the build links libjpeg-turbo
// and defines KSPAM_HAVE_LIBJPEG, JPEG goes through it with PIL's settings and decodes to PIL's
// bytes; otherwise stb_image is the fallback.
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <stb_image.h>
#include <webp/decode.h>
#if defined(KSPAM_HAVE_LIBJPEG)
#include <csetjmp>
#include <cstdio>
#include <jpeglib.h>
#endif

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/image/rgb_image.hpp"

namespace kspam::image {

enum class ImageFormat { unknown, jpeg, png, gif, bmp, webp };

inline const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::png: return "png";
    case ImageFormat::gif: return "gif";
    case ImageFormat::bmp: return "bmp";
    case ImageFormat::webp: return "webp";
    case ImageFormat::unknown: break;
  }
  return "unknown";
}

// The format announced by the first bytes of the file.
inline ImageFormat sniff_format(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.size() >= magic.size() && b.substr(0, magic.size()) == magic; };
  if (starts("\xFF\xD8\xFF")) return ImageFormat::jpeg;
  if (starts("\x89PNG\r\n\x1A\n")) return ImageFormat::png;
  if (starts("GIF87a") || starts("GIF89a")) return ImageFormat::gif;
  if (starts("BM") && b.size() >= 26) return ImageFormat::bmp;
  if (b.size() >= 12 && starts("RIFF") && b.substr(8, 4) == "WEBP") return ImageFormat::webp;
  return ImageFormat::unknown;
}

struct DecodeLimits {
  // PIL's decompression-bomb threshold (Image.MAX_IMAGE_PIXELS): about 256 MB of RGB.
  std::uint64_t max_pixels = 89'478'485;
};

struct ImageInfo {
  ImageFormat format = ImageFormat::unknown;
  int width = 0;
  int height = 0;
};

// Reads the format and declared size without decoding pixels; throws InputError when the bytes are
// not a supported image or the size is zero or over the budget.
inline ImageInfo probe_image(std::string_view bytes, const std::string& origin, const DecodeLimits& limits = {}) {
  ImageInfo info;
  info.format = sniff_format(bytes);
  if (bytes.empty()) throw InputError(origin, "empty file, not an image");
  if (info.format == ImageFormat::unknown)
    throw InputError(origin, "not a JPEG, PNG, GIF, BMP or WebP image (unrecognised leading bytes)");
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    throw InputError(origin, "image file larger than 2 GiB");
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (info.format == ImageFormat::webp) {
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(data, bytes.size(), &features) != VP8_STATUS_OK)
      throw InputError(origin, "malformed WebP header");
    if (features.has_animation) throw InputError(origin, "animated WebP is not supported");
    info.width = features.width;
    info.height = features.height;
  } else {
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, static_cast<int>(bytes.size()), &w, &h, &comp))
      throw InputError(origin, std::string("malformed ") + format_name(info.format) + " header (" +
                                   (stbi_failure_reason() ? stbi_failure_reason() : "unknown reason") + ")");
    info.width = w;
    info.height = h;
  }
  if (info.width <= 0 || info.height <= 0)
    throw InputError(origin, 0, "", std::to_string(info.width) + "x" + std::to_string(info.height),
                     "image has zero size");
  const auto pixels = static_cast<std::uint64_t>(info.width) * static_cast<std::uint64_t>(info.height);
  if (pixels > limits.max_pixels)
    throw InputError(origin, 0, "", std::to_string(info.width) + "x" + std::to_string(info.height),
                     "image has more pixels than the limit of " + std::to_string(limits.max_pixels));
  return info;
}

namespace detail {

// The colour PIL shows for the transparent palette index of a GIF's first frame, if it has one.
// stb_image renders transparent GIF pixels as alpha 0 over black, while PIL keeps the palette
// index and convert("RGB") shows that index's palette colour; reading the palette and the first
// Graphic Control Extension lets us do the same. Returns false when there is no transparency or
// the header is malformed (stb_image then reports the error).
inline bool gif_transparent_colour(std::string_view b, std::uint8_t rgb[3]) {
  auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>(b[i]); };
  if (b.size() < 13) return false;
  std::size_t pos = 13;
  std::string_view palette;
  if (u8(10) & 0x80) {
    const std::size_t n = std::size_t{3} << ((u8(10) & 7) + 1);
    if (pos + n > b.size()) return false;
    palette = b.substr(pos, n);
    pos += n;
  }
  int transparent = -1;
  while (pos < b.size()) {
    const std::uint8_t block = u8(pos);
    if (block == 0x21) {  // extension: label, then sub-blocks
      if (pos + 2 > b.size()) return false;
      const std::uint8_t label = u8(pos + 1);
      pos += 2;
      if (label == 0xF9 && pos + 5 <= b.size() && u8(pos) == 4) transparent = (u8(pos + 1) & 1) ? u8(pos + 4) : -1;
      while (pos < b.size() && u8(pos) != 0) pos += std::size_t{u8(pos)} + 1;
      ++pos;
    } else if (block == 0x2C) {  // first image descriptor: its local palette, if any, is the one used
      if (pos + 10 > b.size()) return false;
      const std::uint8_t packed = u8(pos + 9);
      if (packed & 0x80) {
        const std::size_t n = std::size_t{3} << ((packed & 7) + 1);
        if (pos + 10 + n > b.size()) return false;
        palette = b.substr(pos + 10, n);
      }
      break;
    } else {
      return false;
    }
  }
  if (transparent < 0 || static_cast<std::size_t>(transparent) * 3 + 3 > palette.size()) return false;
  for (std::size_t c = 0; c < 3; ++c) rgb[c] = static_cast<std::uint8_t>(palette[static_cast<std::size_t>(transparent) * 3 + c]);
  return true;
}

#if defined(KSPAM_HAVE_LIBJPEG)
// libjpeg reports fatal errors through a callback that must not return: longjmp back to the decode
// call. Only plain C data lives between setjmp and longjmp (no destructors are skipped).
struct JpegErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

inline void jpeg_error_exit(j_common_ptr info) {
  auto* err = reinterpret_cast<JpegErrorManager*>(info->err);
  (*info->err->format_message)(info, err->message);
  std::longjmp(err->jump, 1);
}

inline void jpeg_silence(j_common_ptr, int) {}  // warnings (e.g. premature end of data) are not fatal

// Decodes into `out` (already sized from the header); returns an error text or nullptr.
inline const char* decode_jpeg_libjpeg(const std::uint8_t* data, std::size_t size, RgbImage& out,
                                       JpegErrorManager& err) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jpeg_error_exit;
  err.pub.emit_message = jpeg_silence;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return err.message;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (static_cast<int>(cinfo.image_width) != out.width || static_cast<int>(cinfo.image_height) != out.height) {
    jpeg_destroy_decompress(&cinfo);
    return "size changed while decoding";
  }
  // PIL's JpegDecoder: grayscale stays one channel (replicated below, as convert("RGB") does),
  // colour is converted by libjpeg; CMYK/YCCK is PIL's inverted Adobe CMYK, handled below.
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  const bool gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  cinfo.out_color_space = cmyk ? JCS_CMYK : (gray ? JCS_GRAYSCALE : JCS_RGB);
  jpeg_start_decompress(&cinfo);
  const auto comps = static_cast<std::size_t>(cinfo.output_components);
  // The row buffer comes from libjpeg's own pool, freed by jpeg_destroy_decompress, so a longjmp
  // out of jpeg_read_scanlines leaks nothing.
  JSAMPARRAY rows = (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo), JPOOL_IMAGE,
                                               cinfo.output_width * static_cast<JDIMENSION>(comps), 1);
  const JSAMPLE* row = rows[0];
  while (cinfo.output_scanline < cinfo.output_height) {
    const auto y = static_cast<std::size_t>(cinfo.output_scanline);
    if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;
    std::uint8_t* dst = out.pixels.data() + y * static_cast<std::size_t>(out.width) * 3;
    for (std::size_t x = 0; x < static_cast<std::size_t>(out.width); ++x) {
      if (gray) {
        dst[x * 3] = dst[x * 3 + 1] = dst[x * 3 + 2] = row[x];
      } else if (cmyk) {
        // PIL reads Adobe CMYK JPEGs inverted ("CMYK;I"); its cmyk2rgb then reduces to
        // r = round(stored_c * stored_k / 255). (Formula derived from Pillow; no CMYK fixture yet.)
        const unsigned k = row[x * 4 + 3];
        for (std::size_t c = 0; c < 3; ++c) {
          const unsigned v = row[x * 4 + c] * k;
          dst[x * 3 + c] = static_cast<std::uint8_t>((v + 128 + ((v + 128) >> 8)) >> 8);
        }
      } else {
        dst[x * 3] = row[x * 3];
        dst[x * 3 + 1] = row[x * 3 + 1];
        dst[x * 3 + 2] = row[x * 3 + 2];
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return nullptr;
}
#endif

}  // namespace detail

// Decodes the bytes of an image file to RGB. `origin` (a path or URL) names the image in errors.
inline RgbImage decode_image(std::string_view bytes, const std::string& origin, const DecodeLimits& limits = {}) {
  const ImageInfo info = probe_image(bytes, origin, limits);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  RgbImage image;
  if (info.format == ImageFormat::webp) {
    int w = 0, h = 0;
    std::unique_ptr<std::uint8_t, void (*)(void*)> rgb(WebPDecodeRGB(data, bytes.size(), &w, &h), WebPFree);
    if (!rgb) throw InputError(origin, "corrupt or truncated WebP data");
    if (w != info.width || h != info.height) throw InputError(origin, "WebP size changed while decoding");
    image = RgbImage(w, h);
    std::memcpy(image.pixels.data(), rgb.get(), image.pixels.size());
    return image;
  }
#if defined(KSPAM_HAVE_LIBJPEG)
  if (info.format == ImageFormat::jpeg) {
    image = RgbImage(info.width, info.height);
    detail::JpegErrorManager err{};
    if (const char* why = detail::decode_jpeg_libjpeg(data, bytes.size(), image, err))
      throw InputError(origin, std::string("corrupt or truncated jpeg data (") + why + ")");
    return image;
  }
#endif
  int w = 0, h = 0, channels = 0;
  std::uint8_t gif_key[3];
  if (info.format == ImageFormat::gif && detail::gif_transparent_colour(bytes, gif_key)) {
    std::unique_ptr<stbi_uc, void (*)(void*)> rgba(
        stbi_load_from_memory(data, static_cast<int>(bytes.size()), &w, &h, &channels, 4), stbi_image_free);
    if (!rgba) throw InputError(origin, std::string("corrupt or truncated gif data (") +
                                            (stbi_failure_reason() ? stbi_failure_reason() : "unknown reason") + ")");
    if (w != info.width || h != info.height) throw InputError(origin, "gif size changed while decoding");
    image = RgbImage(w, h);
    const stbi_uc* src = rgba.get();
    for (std::size_t i = 0, n = image.pixel_count(); i < n; ++i) {
      const bool clear = src[i * 4 + 3] == 0;
      for (std::size_t c = 0; c < 3; ++c) image.pixels[i * 3 + c] = clear ? gif_key[c] : src[i * 4 + c];
    }
    return image;
  }
  // Asking stb_image for 3 components makes it replicate gray, expand palettes and drop alpha,
  // exactly PIL's convert("RGB") for these modes.
  std::unique_ptr<stbi_uc, void (*)(void*)> rgb(
      stbi_load_from_memory(data, static_cast<int>(bytes.size()), &w, &h, &channels, 3), stbi_image_free);
  if (!rgb) {
    const char* why = stbi_failure_reason();
    throw InputError(origin, std::string("corrupt or truncated ") + format_name(info.format) + " data (" +
                                 (why ? why : "unknown reason") + ")");
  }
  if (w != info.width || h != info.height)
    throw InputError(origin, std::string(format_name(info.format)) + " size changed while decoding");
  image = RgbImage(w, h);
  std::memcpy(image.pixels.data(), rgb.get(), image.pixels.size());
  return image;
}

inline RgbImage decode_image_file(const std::filesystem::path& path, const DecodeLimits& limits = {}) {
  return decode_image(read_file(path), path.string(), limits);
}

}  // namespace kspam::image
