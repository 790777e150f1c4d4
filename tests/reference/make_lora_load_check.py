#!/usr/bin/env python3
"""Checks that an adapter written by kspam (nn::save_peft_adapter) loads in PEFT and holds the right values.

The C++ test "PEFT adapters load here, and ours use PEFT's names and config" (tests/nn/test_lora.cpp) re-saves
the PEFT fixture adapter with our writer into <build>/kspam_saved_peft_adapter. This script loads that folder
with PeftModel.from_pretrained on the same module tree make_lora_fixtures.py used, and compares every LoRA
tensor with the values PEFT itself saved (peft_adapter_expected.safetensors). It writes nothing; it exits 1 on
any difference. Command (on the GPU machine, torch 2.11 + peft 0.21, via the device tool):
  python3 tests/reference/make_lora_load_check.py --adapter .gpu-bin/quant/our_adapter \
      --expected tests/reference/fixtures/lora/peft_adapter_expected.safetensors
"""
import argparse
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file

from lora_module_tree import Root  # this folder (sys.path[0] when run as a script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--expected", required=True)
    args = ap.parse_args()
    model = PeftModel.from_pretrained(Root(), args.adapter)
    expected = load_file(args.expected)
    got = {n.replace(".default", ""): p.detach().float() for n, p in model.named_parameters() if "lora_" in n}
    ok = set(got) == set(expected)
    print("tensor names match:", ok, len(got), "tensors")
    for name, value in expected.items():
        if name not in got or not torch.equal(got[name], value):
            print("MISMATCH", name)
            ok = False
    cfg = model.peft_config["default"]
    print("config: r", cfg.r, "alpha", cfg.lora_alpha, "dropout", cfg.lora_dropout, "targets", sorted(cfg.target_modules))
    ok = ok and cfg.r == 4 and cfg.lora_alpha == 8 and abs(cfg.lora_dropout - 0.05) < 1e-12
    print("PASS" if ok else "FAIL", "kspam-written adapter loads in PEFT with identical tensors")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
