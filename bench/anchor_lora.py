#!/usr/bin/env python3
"""PyTorch + PEFT anchor for bench/bench_lora.cu, which runs this script as a subprocess in the same run,
before its own measurements, on the same GPU.

For each Qwen3-VL-2B language-model projection and M tokens it times, as a user of PEFT runs it (eager mode,
CUDA events around back-to-back steps, host launch cost included, like bench_lora's stream-timed columns):
  * base: a frozen bf16 nn.Linear, y = x W^T and dx = dy W (torch.autograd.grad for x only);
  * peft: the same Linear wrapped by get_peft_model(LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05)),
    forward and backward with gradients for x, lora_A and lora_B. PEFT's defaults apply: the adapters are
    kept in float32 (autocast_adapter_dtype=True) and the input is cast to them.
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
            lora = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["proj"]))
            lora.train()
            layer = lora.base_model.model.proj
            a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight
            with torch.no_grad():
                b.normal_(0.0, 0.01)

            def lora_step():
                torch.autograd.grad(layer(x), [x, a, b], dy)

            peft_us = time_us(lora_step, iters)
            print(json.dumps({"shape": name, "M": m, "base_us": base_us, "peft_us": peft_us,
                              "adapter_dtype": str(a.dtype).replace("torch.", "")}), flush=True)
            del lora, model, layer, a, b, x, dy
            torch.cuda.empty_cache()
    print(json.dumps({"done": True, "torch": torch.__version__, "peft": peft.__version__,
                      "device": torch.cuda.get_device_name(0)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
