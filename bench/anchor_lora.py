#!/usr/bin/env python3
"""PyTorch + PEFT anchor for bench/bench_lora.cu, which runs this script as a subprocess in the same run,
before its own measurements, on the same GPU.

For each Qwen3-VL-2B language-model projection and M tokens it times, as a user of PEFT runs it (eager mode,
CUDA events around back-to-back steps, host launch cost included, like bench_lora's stream-timed columns):
  * base: a frozen bf16 nn.Linear, y = x W^T and dx = dy W (torch.autograd.grad for x only);
  * peft: the same Linear wrapped by get_peft_model(LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05)),
    forward and backward with gradients for x, lora_A and lora_B. PEFT's default keeps the adapters in float32
    (autocast_adapter_dtype=True) and casts the input to them;
  * peft_bf16: the same with autocast_adapter_dtype=False, adapters in bf16 like the base (and like ours, which
    computes in bf16 with float32 accumulation and keeps float32 gradients for A and B).
B is filled with random values (PEFT initialises it to zero) so nothing is special-cased. Prints one JSON
line per shape and M, then one line {"done": true, ...versions}.

Usage: python3 bench/anchor_lora.py [--quick]
"""
import json
import sys

SHAPES = [("q/o 2048->2048", 2048, 2048), ("k/v 2048->1024", 2048, 1024),
          ("gate/up 2048->6144", 2048, 6144), ("down 6144->2048", 6144, 2048)]


def time_us(step, iters, warmup=3):
    import torch
    for _ in range(warmup):
        step()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        step()
    end.record()
    end.synchronize()
    return 1e3 * start.elapsed_time(end) / iters


def main():
    quick = "--quick" in sys.argv[1:]
    try:
        import torch
        import peft
        from peft import LoraConfig, get_peft_model
    except ImportError as e:
        print(json.dumps({"error": f"needs torch and peft: {e}"}))
        return 0
    if not torch.cuda.is_available():
        print(json.dumps({"error": "torch sees no CUDA device"}))
        return 0
    torch.manual_seed(0)
    dev = torch.device("cuda")

    class OneProjection(torch.nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.proj = torch.nn.Linear(n_in, n_out, bias=False)

        def forward(self, x):
            return self.proj(x)

    for name, n_in, n_out in SHAPES:
        for m in (2544, 8192):
            iters = 20 if quick else (100 if m <= 2544 else 40)
            model = OneProjection(n_in, n_out).to(dev, torch.bfloat16)
            model.proj.weight.requires_grad_(False)
            x = torch.randn(m, n_in, device=dev, dtype=torch.bfloat16, requires_grad=True)
            dy = torch.randn(m, n_out, device=dev, dtype=torch.bfloat16)

            def base_step():
                torch.autograd.grad(model.proj(x), [x], dy)

            base_us = time_us(base_step, iters)

            def peft_us(adapters_in_fp32):
                lora = get_peft_model(OneProjection(n_in, n_out).to(dev, torch.bfloat16),
                                      LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["proj"]),
                                      autocast_adapter_dtype=adapters_in_fp32)
                lora.train()
                layer = lora.base_model.model.proj
                a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight
                assert a.dtype == (torch.float32 if adapters_in_fp32 else torch.bfloat16), a.dtype
                with torch.no_grad():
                    b.normal_(0.0, 0.01)
                return time_us(lambda: torch.autograd.grad(layer(x), [x, a, b], dy), iters)

            print(json.dumps({"shape": name, "M": m, "base_us": base_us, "peft_us": peft_us(True),
                              "peft_bf16_us": peft_us(False)}), flush=True)
            del model, x, dy
            torch.cuda.empty_cache()
    print(json.dumps({"done": True, "torch": torch.__version__, "peft": peft.__version__,
                      "device": torch.cuda.get_device_name(0)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
