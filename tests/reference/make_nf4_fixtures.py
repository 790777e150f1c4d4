#!/usr/bin/env python3
"""NF4 fixtures: bitsandbytes' NF4 + double quantization, computed by bitsandbytes' own pure-PyTorch
("default" backend) algorithms, serialised exactly as bitsandbytes' Linear4bit state dict does.

bitsandbytes is not installable where torch is (the GPU machine has no package registry), so this
script re-states, line for line in meaning, the reference algorithms of
  bitsandbytes-foundation/bitsandbytes @ 0155ecc672fc1523ae8dfd6440060f1c404fc8c3
    bitsandbytes/backends/utils.py          _NF4_QUANT_TABLE (the 16-value codebook)
    bitsandbytes/backends/default/ops.py    quantize_4bit / quantize_blockwise / dequantize_blockwise
  bitsandbytes/functional.py (create_dynamic_map, quantize_4bit(compress_statistics=True):
    offset = absmax.mean(); quantize_blockwise(absmax - offset, blocksize=256))
  QuantState.as_dict(packed=True) + utils.pack_dict_to_tensor (JSON of the non-tensor fields as uint8)
and writes the results so the C++ tests (tests/quant/test_nf4*.cpp) check ours against them.

Command that produced the committed fixtures (on the GPU machine, torch 2.11, via the device tool):
  python3 tests/reference/make_nf4_fixtures.py --out tests/reference/fixtures/nf4
Outputs:
  bnb_checkpoint.safetensors  tensors named as bitsandbytes serialises a Linear4bit (prefix "layer.",
                              "odd." for a shape with a partial block, "plain." without double quant)
  reference.safetensors       the bf16 inputs, bitsandbytes' dequantized bf16 weights, the unpacked codes,
                              the fp32 absmax before double quantization, and the dynamic 8-bit map
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

NF4 = torch.tensor([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=torch.float32)


def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    # bitsandbytes/functional.py create_dynamic_map, same float32 torch ops in the same order.
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed
                             else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    if additional_items > 0:
        boundaries = torch.linspace(0.1, 1, additional_items + 1)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def blockwise_absmax(flat, blocksize):
    n = flat.numel()
    blocks = (n + blocksize - 1) // blocksize
    absmax = torch.zeros(blocks, dtype=torch.float32)
    full = n // blocksize
    absmax[:full] = flat[: full * blocksize].reshape(full, blocksize).abs().max(dim=-1)[0].float()
    if n % blocksize:
        absmax[-1] = flat[full * blocksize:].abs().max().float()
    return absmax


def scale_blocks(flat, absmax, blocksize):
    n = flat.numel()
    idx = torch.arange(n) // blocksize
    return torch.clamp(flat.float() * (1 / absmax[idx]), -1, 1)


def quantize_4bit(weight, blocksize):
    # backends/default/ops.py quantize_4bit: nearest codebook entry (argmin), first code in the high nibble.
    flat = weight.reshape(-1)
    absmax = blockwise_absmax(flat, blocksize)
    scaled = scale_blocks(flat, absmax, blocksize)
    if scaled.numel() % 2:
        scaled = torch.nn.functional.pad(scaled, (0, 1), value=0.0)
    codes = torch.argmin(torch.abs(scaled.view(-1, 1) - NF4), dim=-1).to(torch.uint8)
    packed = (codes[::2] << 4 | codes[1::2]).unsqueeze(1)
    return packed, absmax, codes[: flat.numel()]


def quantize_blockwise(values, code, blocksize):
    absmax = blockwise_absmax(values, blocksize)
    scaled = scale_blocks(values, absmax, blocksize)
    q = torch.argmin(torch.abs(scaled.unsqueeze(-1) - code), dim=-1).to(torch.uint8)
    return q, absmax


def dequantize_blockwise(q, absmax, code, blocksize):
    idx = torch.arange(q.numel()) // blocksize
    return code[q.long()] * absmax[idx]


def dequantize_4bit(packed, absmax, blocksize, shape, dtype):
    packed = packed.reshape(-1)
    codes = torch.empty(packed.numel() * 2, dtype=torch.long)
    codes[::2] = (packed >> 4).long()
    codes[1::2] = (packed & 0xF).long()
    n = 1
    for s in shape:
        n *= s
    vals = NF4[codes[:n]]
    idx = torch.arange(n) // blocksize
    return (vals * absmax[idx]).to(dtype).reshape(shape)


def pack_dict_to_tensor(d):
    return torch.tensor(list(json.dumps(d).encode("utf-8")), dtype=torch.uint8)


def make(prefix, weight, blocksize, nested, ckpt, ref, dynamic_map):
    packed, absmax, codes = quantize_4bit(weight, blocksize)
    ref[prefix + "input"] = weight.contiguous()
    ref[prefix + "codes"] = codes.contiguous()
    ref[prefix + "absmax_fp32"] = absmax.contiguous()
    ckpt[prefix + "weight"] = packed.contiguous()
    ckpt[prefix + "weight.quant_map"] = NF4.clone()
    state = {"quant_type": "nf4", "blocksize": blocksize, "dtype": "bfloat16", "shape": list(weight.shape)}
    if nested:
        offset = absmax.mean()
        qabsmax, nested_absmax = quantize_blockwise(absmax - offset, dynamic_map, 256)
        ckpt[prefix + "weight.absmax"] = qabsmax.contiguous()
        ckpt[prefix + "weight.nested_absmax"] = nested_absmax.contiguous()
        ckpt[prefix + "weight.nested_quant_map"] = dynamic_map.clone()
        state.update({"nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": offset.item()})
        # bitsandbytes' dequantize_4bit with compressed statistics: fp32 absmax = code[q] * nested + offset
        used_absmax = dequantize_blockwise(qabsmax, nested_absmax, dynamic_map, 256) + offset
    else:
        ckpt[prefix + "weight.absmax"] = absmax.contiguous()
        used_absmax = absmax.clone()
    ckpt[prefix + "weight.quant_state.bitsandbytes__nf4"] = pack_dict_to_tensor(state)
    ref[prefix + "absmax_used"] = used_absmax.float().contiguous()
    ref[prefix + "dequantized"] = dequantize_4bit(packed, used_absmax, blocksize, weight.shape, torch.bfloat16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(1234)
    dynamic_map = create_dynamic_map(signed=True)
    ckpt, ref = {}, {}
    # 256 x 192: 768 blocks of 64 -> 3 blocks of 256 absmax values for the double quantization.
    make("layer.", (torch.randn(256, 192) * 0.02).to(torch.bfloat16), 64, True, ckpt, ref, dynamic_map)
    # 33 x 50 = 1650 elements: a partial last block (1650 = 25 * 64 + 50).
    make("odd.", (torch.randn(33, 50) * 0.05).to(torch.bfloat16), 64, True, ckpt, ref, dynamic_map)
    # Without double quantization, block size 128, one all-zero block.
    w = (torch.randn(16, 96) * 0.1)
    w[0, :] = 0.0
    w[1, :32] = 0.0
    make("plain.", w.to(torch.bfloat16), 128, False, ckpt, ref, dynamic_map)
    ref["dynamic_map"] = dynamic_map
    ref["nf4_codebook"] = NF4.clone()
    save_file(ckpt, os.path.join(args.out, "bnb_checkpoint.safetensors"), metadata={"format": "pt"})
    save_file(ref, os.path.join(args.out, "reference.safetensors"))
    print("nf4 fixtures written to", args.out, {k: tuple(v.shape) for k, v in ckpt.items()})


if __name__ == "__main__":
    main()
