#!/usr/bin/env python3
"""LoRA fixtures from PyTorch autograd + PEFT (0.21): forward outputs, gradients, the merged weight, and a
real PEFT adapter saved with save_pretrained, for tests/nn/test_lora*.cpp.

Command that produced the committed fixtures (on the GPU machine, torch 2.11 + peft 0.21, via the device tool):
  python3 tests/reference/make_lora_fixtures.py --out tests/reference/fixtures/lora
Outputs (all fp32 unless noted):
  grad_fixture.safetensors     dropout 0: x, W (base), A, B, upstream g, y, dA, dB, dx, merged W
                               (PEFT merge_and_unload), r/alpha in the metadata
  dropout_fixture.safetensors  dropout 0.25 in training mode: the mask PEFT's nn.Dropout drew (captured by a
                               forward hook as dropout(x) / x * (1 - p)), y, dA, dB, dx
  qlora_fixture.safetensors    the base weight is NF4-quantized + double-quantized (bitsandbytes' algorithm, as in
                               make_nf4_fixtures.py) and dequantized to bf16 exactly as bnb's Linear4bit computes
                               its matmul; LoRA on top in fp32; y, dA, dB, dx
  peft_adapter/                adapter_model.safetensors + adapter_config.json from PeftModel.save_pretrained on a
                               module tree named like Qwen3-VL's language model (q_proj, v_proj, down_proj)
  peft_adapter_expected.safetensors  the same adapter's tensors as the module holds them (to check our reader)
"""
import argparse
import importlib.util
import json
import math
import os
import sys

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file

from lora_module_tree import Root  # this folder (sys.path[0] when run as a script)

HERE = os.path.dirname(os.path.abspath(__file__))


class Holder(torch.nn.Module):
    def __init__(self, base):
        super().__init__()
        self.proj = base

    def forward(self, x):
        return self.proj(x)


def lora_case(W, r, alpha, dropout, x, g, seed, capture_mask=False):
    base = torch.nn.Linear(W.shape[1], W.shape[0], bias=False)
    with torch.no_grad():
        base.weight.copy_(W)
    model = get_peft_model(Holder(base), LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                                                    target_modules=["proj"]))
    layer = model.base_model.model.proj
    A = layer.lora_A["default"].weight
    B = layer.lora_B["default"].weight
    torch.manual_seed(seed)
    with torch.no_grad():
        B.copy_(torch.randn_like(B) * 0.1)  # PEFT starts B at zero; a non-zero B makes dA and dx informative
    captured = {}
    if capture_mask:
        drop = layer.lora_dropout["default"]
        drop.register_forward_hook(lambda m, inp, out: captured.__setitem__("mask", (out / inp[0] * (1 - dropout)).round().detach()))
    model.train()
    xr = x.clone().requires_grad_(True)
    y = model(xr)
    y.backward(g)
    out = {"x": x, "W": W, "A": A.detach().clone(), "B": B.detach().clone(), "g": g, "y": y.detach(),
           "dA": A.grad.detach().clone(), "dB": B.grad.detach().clone(), "dx": xr.grad.detach().clone()}
    assert base.weight.grad is None, "the base weight must stay frozen"
    if capture_mask:
        out["mask"] = torch.nan_to_num(captured["mask"], nan=0.0)
    merged = model.merge_and_unload()
    out["merged_W"] = merged.proj.weight.detach().clone()
    return {k: v.float().contiguous() for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(7)
    n, d_in, d_out, r, alpha = 6, 64, 48, 8, 16
    W = torch.randn(d_out, d_in) * 0.05
    x = torch.randn(n, d_in)
    g = torch.randn(n, d_out)
    meta = {"r": str(r), "alpha": str(alpha)}
    save_file(lora_case(W, r, alpha, 0.0, x, g, 11), os.path.join(args.out, "grad_fixture.safetensors"),
              {**meta, "dropout": "0"})
    torch.manual_seed(8)
    x_nz = torch.randn(n, d_in)  # no exact zeros, so the captured mask is exact
    save_file(lora_case(W, r, alpha, 0.25, x_nz, g, 12, capture_mask=True),
              os.path.join(args.out, "dropout_fixture.safetensors"), {**meta, "dropout": "0.25"})

    # QLoRA: the base weight goes through NF4 + double quantization (bitsandbytes' algorithm).
    spec = importlib.util.spec_from_file_location("make_nf4", os.path.join(HERE, "make_nf4_fixtures.py"))
    nf4 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nf4)
    Wq = (torch.randn(d_out, 128) * 0.05).to(torch.bfloat16)  # 6144 elements: 96 blocks of 64
    ckpt, ref = {}, {}
    nf4.make("base.", Wq, 64, True, ckpt, ref, nf4.create_dynamic_map())
    W_dq = ref["base.dequantized"].float()
    xq = torch.randn(n, 128)
    case = lora_case(W_dq, r, alpha, 0.0, xq, g, 13)
    case["W_input_bf16"] = Wq.float()
    save_file(case, os.path.join(args.out, "qlora_fixture.safetensors"), {**meta, "dropout": "0", "blocksize": "64"})

    # A real PEFT adapter with Qwen-style module names.
    torch.manual_seed(21)

    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=["q_proj", "v_proj", "down_proj"],
                     bias="none")
    pm = get_peft_model(Root(), cfg)
    expected = {}
    for name, p in pm.named_parameters():
        if "lora_" in name:
            with torch.no_grad():
                p.copy_(torch.randn_like(p) * 0.1)
            expected[name.replace(".default", "")] = p.detach().float().clone().contiguous()
    pm.save_pretrained(os.path.join(args.out, "peft_adapter"))
    save_file(expected, os.path.join(args.out, "peft_adapter_expected.safetensors"))
    print("lora fixtures written to", args.out, sorted(expected)[:3])


if __name__ == "__main__":
    main()
