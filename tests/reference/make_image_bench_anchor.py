#!/usr/bin/env python3
"""Anchor for bench/bench_image_preprocess.cpp: the Hugging Face Qwen2-VL image processor
(transformers 5.x, torchvision backend, Qwen3-VL checkpoint settings) timed on the same image files.

The bench program calls this script itself, in the same run, on the GPU machine (which has
transformers; nothing here uses the GPU):

    python3 tests/reference/make_image_bench_anchor.py --make DIR      # writes the benchmark images
    python3 tests/reference/make_image_bench_anchor.py --time DIR --repeat 3

--make writes 48 photo-like images of marketplace sizes: 32 JPEG 640x480 (q85), 8 PNG 800x600,
8 WebP 1024x768 (q80). --time prints "key value" lines: per-image calls (Image.open + processor, the
way a listing at a time is handled) and one batched call over all images.
"""
import argparse
import glob
import os
import sys
import time

import numpy as np
from PIL import Image


def photo(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(x / (37 + seed % 11)) * np.cos(y / 53),
                     128 + 90 * np.cos((x + y) / 71),
                     128 + 80 * np.sin(y / (29 + seed % 7))], axis=-1)
    cx, cy = w * (0.3 + 0.4 * rng.random()), h * (0.3 + 0.4 * rng.random())
    mask = ((x - cx) ** 2 + (y - cy) ** 2) < (min(h, w) * 0.25) ** 2
    base[mask] = rng.integers(0, 255, 3)
    base += rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def make(out):
    os.makedirs(out, exist_ok=True)
    for i in range(32):
        photo(480, 640, i).save(os.path.join(out, f"photo_{i:02d}.jpg"), "JPEG", quality=85)
    for i in range(8):
        photo(600, 800, 100 + i).save(os.path.join(out, f"photo_{i:02d}.png"), "PNG")
    for i in range(8):
        photo(768, 1024, 200 + i).save(os.path.join(out, f"photo_{i:02d}.webp"), "WEBP", quality=80)
    print(f"made {len(os.listdir(out))} images in {out}")


def time_hf(directory, repeat):
    import torch
    import transformers
    from transformers import Qwen2VLImageProcessor
    proc = Qwen2VLImageProcessor(size={"shortest_edge": 65536, "longest_edge": 16777216}, patch_size=16,
                                 temporal_patch_size=2, merge_size=2, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    files = sorted(f for f in glob.glob(os.path.join(directory, "*")) if f.rsplit(".", 1)[-1] in
                   ("jpg", "jpeg", "png", "webp", "gif", "bmp"))
    for f in files[:4]:  # warm-up
        proc(images=[Image.open(f)], return_tensors="pt")
    start = time.perf_counter()
    rows = 0
    for _ in range(repeat):
        for f in files:
            out = proc(images=[Image.open(f)], return_tensors="pt")
            rows += out["pixel_values"].shape[0]
    per_image = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeat):
        out = proc(images=[Image.open(f) for f in files], return_tensors="pt")
    batched = time.perf_counter() - start
    n = len(files) * repeat
    print(f"transformers {transformers.__version__}")
    print(f"torch {torch.__version__}")
    print(f"torch_threads {torch.get_num_threads()}")
    print(f"images {n}")
    print(f"patch_rows {rows}")
    print(f"hf_per_image_images_per_second {n / per_image:.3f}")
    print(f"hf_batched_images_per_second {n / batched:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make")
    ap.add_argument("--time")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.make:
        make(args.make)
    if args.time:
        time_hf(args.time, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
