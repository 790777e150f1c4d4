#!/usr/bin/env python3
"""Reference fixtures for kspam's image decoding and Qwen3-VL preprocessing (tests/image/).

Produced on the GPU machine (python3 with transformers 5.17, torch 2.11, Pillow; no GPU used: the
processor runs on CPU tensors, the path that docs/qwen3-vl-architecture.md §5.3 calls bit-exact):

    python3 tests/reference/make_image_fixtures.py --out tests/reference/fixtures/image

What it writes (everything the C++ tests read; no Python is needed to run the tests):
  inputs/<name>.<ext>       small generated images of varied sizes, aspect ratios and modes
                            (RGB/L/P/P+tRNS/RGBA/LA PNG, baseline/progressive/grayscale JPEG,
                            lossy/lossless WebP, GIF, BMP)
  decoded_rgb.bin           for each input, PIL's Image.open(f).convert("RGB") bytes (H*W*3, row-major)
  pixel_values_u8.bin       for each case, Hugging Face pixel_values de-normalised to uint8
                            (x = pv*127.5 + 127.5; the script asserts this is exact, so no information
                            is lost against the float32 tensor), row-major [N, 1536]
  cases.json                one entry per case: input file, min/max pixels, image_grid_thw, offsets
  smart_resize.json         transformers' smart_resize on sizes and limits, including its errors

The truth is `Qwen2VLImageProcessor` (torchvision backend in transformers 5.x) with the Qwen3-VL
checkpoint settings (patch 16, merge 2, temporal 2, mean = std = 0.5) applied to the image as PIL
opens it. Sizes are kept small (the tests use min_pixels 4096 for most cases) so the fixtures stay
well under a megabyte; two cases use the checkpoint's own limits (65536 / 16777216).
"""
import argparse
import io
import json
import math
import os
import sys

import numpy as np
from PIL import Image

PATCH, MERGE, TEMPORAL = 16, 2, 2
DEFAULT_MIN, DEFAULT_MAX = 65536, 16777216


def synthetic_rgb(h, w, seed):
    """A photo-like test card: smooth gradients, hard edges, fine stripes and noise, so resampling
    errors anywhere (edges, high frequency, flat areas) would show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * (x / max(w - 1, 1))
    g = 255 * (y / max(h - 1, 1))
    b = 127 + 120 * np.sin(x / 3.0) * np.cos(y / 5.0)
    img = np.stack([r, g, b], axis=-1)
    # a hard-edged rectangle and fine one-pixel stripes
    img[h // 4: h // 2, w // 5: w // 2] = [250, 20, 30]
    img[:, (np.arange(w) % 2 == 0) & (np.arange(w) > 3 * w // 4)] = [0, 0, 0]
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_inputs(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    made = []

    def save(name, img, fmt, **kw):
        path = os.path.join(out_dir, name)
        img.save(path, fmt, **kw)
        made.append(name)

    save("rgb_97x131.png", Image.fromarray(synthetic_rgb(97, 131, 1)), "PNG")
    save("rgb_120x160_q90.jpg", Image.fromarray(synthetic_rgb(120, 160, 2)), "JPEG", quality=90)
    save("rgb_75x100_progressive.jpg", Image.fromarray(synthetic_rgb(75, 100, 3)), "JPEG", quality=85,
         progressive=True)
    save("rgb_300x400_q85.jpg", Image.fromarray(synthetic_rgb(300, 400, 4)), "JPEG", quality=85)
    save("gray_70x50.png", Image.fromarray(synthetic_rgb(70, 50, 5)).convert("L"), "PNG")
    save("gray_64x64.jpg", Image.fromarray(synthetic_rgb(64, 64, 6)).convert("L"), "JPEG", quality=90)
    pal = Image.fromarray(synthetic_rgb(48, 64, 7)).quantize(colors=64)
    save("palette_48x64.png", pal, "PNG")
    pal_t = Image.fromarray(synthetic_rgb(40, 56, 8)).quantize(colors=32)
    save("palette_trns_40x56.png", pal_t, "PNG", transparency=3)
    rgba = np.dstack([synthetic_rgb(90, 45, 9), np.tile(np.linspace(0, 255, 45).astype(np.uint8), (90, 1))])
    save("rgba_90x45.png", Image.fromarray(rgba, "RGBA"), "PNG")
    la = np.dstack([synthetic_rgb(33, 33, 10)[..., 0], np.tile(np.linspace(255, 0, 33).astype(np.uint8), (33, 1))])
    save("la_33x33.png", Image.fromarray(la, "LA"), "PNG")
    save("rgb_80x120_lossy.webp", Image.fromarray(synthetic_rgb(80, 120, 11)), "WEBP", quality=80)
    rgba2 = np.dstack([synthetic_rgb(50, 70, 12), np.full((50, 70), 200, np.uint8)])
    save("rgba_50x70_lossless.webp", Image.fromarray(rgba2, "RGBA"), "WEBP", lossless=True)
    save("palette_40x60.gif", Image.fromarray(synthetic_rgb(40, 60, 13)).quantize(colors=128), "GIF")
    save("palette_trns_36x36.gif", Image.fromarray(synthetic_rgb(36, 36, 14)).quantize(colors=64), "GIF",
         transparency=5)
    save("rgb_29x41.bmp", Image.fromarray(synthetic_rgb(29, 41, 15)), "BMP")
    save("rgb_20x40.png", Image.fromarray(synthetic_rgb(20, 40, 16)), "PNG")
    save("thin_8x300.png", Image.fromarray(synthetic_rgb(8, 300, 17)), "PNG")
    return made


def make_processor(min_pixels, max_pixels):
    from transformers import Qwen2VLImageProcessor
    common = dict(patch_size=PATCH, temporal_patch_size=TEMPORAL, merge_size=MERGE,
                  image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    try:
        proc = Qwen2VLImageProcessor(size={"shortest_edge": min_pixels, "longest_edge": max_pixels}, **common)
    except (TypeError, ValueError):  # older releases named the limits min_pixels / max_pixels
        proc = Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels, **common)
    return proc


def find_smart_resize():
    import importlib
    for mod in ("transformers.models.qwen2_vl.image_processing_qwen2_vl",
                "transformers.models.qwen2_vl.image_processing_pil_qwen2_vl",
                "transformers.models.qwen2_vl.image_processing_qwen2_vl_fast"):
        try:
            m = importlib.import_module(mod)
            if hasattr(m, "smart_resize"):
                return m.smart_resize
        except ImportError:
            pass
    raise RuntimeError("smart_resize not found in transformers")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import transformers
    import torch
    inputs_dir = os.path.join(args.out, "inputs")
    files = make_inputs(inputs_dir)

    # (file, min_pixels, max_pixels): most cases with small limits (small fixtures); the checkpoint
    # defaults on a tiny image (upscaled to 192x384); a downscale case (antialiased bicubic).
    cases = [(f, 4096, DEFAULT_MAX) for f in files if f != "rgb_300x400_q85.jpg"]
    cases.append(("rgb_20x40.png", DEFAULT_MIN, DEFAULT_MAX))
    cases.append(("rgb_300x400_q85.jpg", 4096, 20000))
    cases.append(("rgb_97x131.png", 4096, 6000))

    decoded = bytearray()
    rgb_offsets = {}
    for f in files:
        im = Image.open(os.path.join(inputs_dir, f))
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
        rgb_offsets[f] = (len(decoded), im.mode, arr.shape[0], arr.shape[1])
        decoded += arr.tobytes()

    pv_bytes = bytearray()
    entries = []
    max_roundtrip = 0.0
    for f, mn, mx in cases:
        proc = make_processor(mn, mx)
        im = Image.open(os.path.join(inputs_dir, f))
        im.load()
        out = proc(images=[im], return_tensors="pt")
        pv = out["pixel_values"].to(torch.float32).numpy()
        grid = [int(v) for v in out["image_grid_thw"][0].tolist()]
        assert pv.shape == (grid[0] * grid[1] * grid[2], 3 * TEMPORAL * PATCH * PATCH), pv.shape
        u = pv.astype(np.float64) * 127.5 + 127.5
        u8 = np.clip(np.rint(u), 0, 255).astype(np.uint8)
        back = (u8.astype(np.float32) - np.float32(127.5)) / np.float32(127.5)
        max_roundtrip = max(max_roundtrip, float(np.abs(back - pv).max()))
        offset, mode, h, w = rgb_offsets[f]
        entries.append({"name": f"{f}@{mn}-{mx}", "file": f, "mode": mode, "height": h, "width": w,
                        "min_pixels": mn, "max_pixels": mx, "grid_thw": grid,
                        "rgb_offset": offset, "pv_offset": len(pv_bytes), "pv_rows": int(pv.shape[0])})
        pv_bytes += u8.tobytes()
        print(f"{f:32s} {mode:5s} {h}x{w} limits {mn}/{mx} -> grid {grid}", flush=True)
    # The float32 tensor is exactly (u8 - 127.5) / 127.5: storing u8 loses nothing.
    assert max_roundtrip == 0.0, max_roundtrip

    smart = find_smart_resize()
    sizes = [(480, 640, DEFAULT_MIN, DEFAULT_MAX), (1080, 1920, DEFAULT_MIN, DEFAULT_MAX),
             (720, 1280, DEFAULT_MIN, DEFAULT_MAX), (224, 224, DEFAULT_MIN, DEFAULT_MAX),
             (5000, 8000, DEFAULT_MIN, DEFAULT_MAX), (20, 100, DEFAULT_MIN, DEFAULT_MAX),
             (10, 10, DEFAULT_MIN, DEFAULT_MAX), (5, 300, DEFAULT_MIN, DEFAULT_MAX),
             (100000, 600, DEFAULT_MIN, DEFAULT_MAX), (100000, 600, 65536, 65536),
             (32, 6400, DEFAULT_MIN, DEFAULT_MAX), (32, 6401, DEFAULT_MIN, DEFAULT_MAX),
             (1, 1, DEFAULT_MIN, DEFAULT_MAX), (16, 16, 4096, DEFAULT_MAX), (48, 48, 4096, 4096),
             (3000, 4000, 4096, 1003520), (333, 777, 12345, 54321), (4096, 4096, DEFAULT_MIN, DEFAULT_MAX),
             (4097, 4097, DEFAULT_MIN, DEFAULT_MAX), (17, 4000, 4096, 200000)]
    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = int(rng.integers(1, 5000)), int(rng.integers(1, 5000))
        sizes.append((h, w, DEFAULT_MIN, DEFAULT_MAX))
        sizes.append((h, w, 4096, int(rng.integers(4096, 2_000_000))))
    smart_cases = []
    for h, w, mn, mx in sizes:
        entry = {"height": h, "width": w, "min_pixels": mn, "max_pixels": mx}
        try:
            rh, rw = smart(h, w, factor=PATCH * MERGE, min_pixels=mn, max_pixels=mx)
            entry["resized"] = [int(rh), int(rw)]
        except ValueError as e:
            entry["error"] = str(e)
        smart_cases.append(entry)

    with open(os.path.join(args.out, "decoded_rgb.bin"), "wb") as fh:
        fh.write(decoded)
    with open(os.path.join(args.out, "pixel_values_u8.bin"), "wb") as fh:
        fh.write(pv_bytes)
    meta = {"generator": "tests/reference/make_image_fixtures.py",
            "transformers": transformers.__version__, "torch": torch.__version__,
            "pillow": Image.__version__ if hasattr(Image, "__version__") else __import__("PIL").__version__,
            "processor": type(make_processor(DEFAULT_MIN, DEFAULT_MAX)).__name__,
            "patch_size": PATCH, "merge_size": MERGE, "temporal_patch_size": TEMPORAL,
            "cases": entries}
    with open(os.path.join(args.out, "cases.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    with open(os.path.join(args.out, "smart_resize.json"), "w") as fh:
        json.dump(smart_cases, fh, indent=1)
    total = sum(os.path.getsize(os.path.join(inputs_dir, f)) for f in files) + len(decoded) + len(pv_bytes)
    print(f"{len(files)} inputs, {len(entries)} cases, {len(smart_cases)} smart_resize cases, {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
