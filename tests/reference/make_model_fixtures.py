#!/usr/bin/env python3
"""Qwen3-VL parity fixtures from Hugging Face transformers (5.17, torch 2.11), for tests/model/.

Builds small random Qwen3VLForConditionalGeneration models, saves each with save_pretrained, and records
what HF computes on fixed prompts: input ids, pixel values, image grids, mm_token_type_ids, the 3-D MRoPE
position ids and rope deltas, the vision merger output and DeepStack features, full-prompt logits, greedy
generations (HF generate, do_sample=False) and the logits of every decode step.

Command that produced the committed fixtures (GPU machine via the device tool; everything runs on its CPU in
fp32 so that no TF32 convolution or matmul path changes the numbers):
  python3 tests/reference/make_model_fixtures.py --out $OUT/model && tar -C $OUT -czf $OUT/model.tar.gz model
then unpacked into tests/reference/fixtures/model/.

Models (all fp32 compute; weights randomised including norm weights and biases, init scale 0.2 so greedy
decoding gives varied tokens):
  m1  tied head, 4 q / 2 kv heads, head_dim 16, mrope [3,3,2], theta 5e6; vision depth 2, 2 heads, 4x4 pos table,
      deepstack [0]
  m2  untied head, 4 q / 1 kv head, head_dim 24 (hidden 80 != heads*head_dim), mrope [6,3,3], theta 1e4; vision
      depth 3, 3 heads, 6x6 table, deepstack [0, 2]; saved in shards (model.safetensors.index.json)
  m3  tied head, 2 q / 2 kv heads, head_dim 32, mrope [8,4,4]; vision depth 4, 4 heads (head_dim 8), 8x8 table,
      deepstack [1, 3]; weights rounded to bf16 and saved as BF16 (HF computes in fp32 on the rounded weights);
      its generation config stops on a token that greedy decoding reaches, so the stop rule is exercised
Cases (case_<name>.safetensors next to the model directories; ints are I64):
  input_ids [B,L], attention_mask [B,L], mm_token_type_ids [B,L], pixel_values [N,C*T*P*P] (image cases),
  image_grid_thw [images,3], position_ids [3,B,L], rope_deltas [B], vision_merger [N/4,D],
  deepstack_<k> [N/4,D], logits [B,L,V], generated [B,G] (-1 after a row stopped), step_logits [B,G,V]
  (HF generate's raw logits per step; rows that stopped hold HF's values for the pad token they were fed).
Metadata of each case is also written to cases.json.
"""
import argparse
import copy
import json
import os
import sys
import traceback

import torch
from safetensors.torch import save_file

import transformers
from transformers import GenerationConfig, Qwen3VLConfig, Qwen3VLForConditionalGeneration

torch.set_grad_enabled(False)
torch.use_deterministic_algorithms(True, warn_only=True)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

VOCAB = 256
IMAGE, VIDEO, VSTART, VEND = 250, 251, 252, 253
EOS_A, EOS_B = 254, 255
PAD = 0


def make_config(text, vision, tie):
    text = dict(text)
    text.update(vocab_size=VOCAB, rms_norm_eps=1e-6, hidden_act="silu", max_position_embeddings=4096,
                initializer_range=0.2, tie_word_embeddings=tie, attention_bias=False,
                bos_token_id=None, eos_token_id=EOS_A, pad_token_id=PAD)
    vision = dict(vision)
    vision.update(in_channels=3, temporal_patch_size=2, spatial_merge_size=2, hidden_act="gelu_pytorch_tanh",
                  out_hidden_size=text["hidden_size"], initializer_range=0.2)
    return Qwen3VLConfig(text_config=text, vision_config=vision, image_token_id=IMAGE, video_token_id=VIDEO,
                         vision_start_token_id=VSTART, vision_end_token_id=VEND, tie_word_embeddings=tie)


MODELS = {
    "m1": dict(
        text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=16,
                  rope_parameters=dict(rope_type="default", rope_theta=5000000.0, mrope_section=[3, 3, 2],
                                       mrope_interleaved=True)),
        vision=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=4,
                    num_position_embeddings=16, deepstack_visual_indexes=[0]),
        tie=True, seed=1),
    "m2": dict(
        text=dict(hidden_size=80, intermediate_size=144, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=1, head_dim=24,
                  rope_parameters=dict(rope_type="default", rope_theta=10000.0, mrope_section=[6, 3, 3],
                                       mrope_interleaved=True)),
        vision=dict(depth=3, hidden_size=48, intermediate_size=96, num_heads=3, patch_size=4,
                    num_position_embeddings=36, deepstack_visual_indexes=[0, 2]),
        tie=False, seed=2, shard="150KB"),
    "m3": dict(
        text=dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=2, head_dim=32,
                  rope_parameters=dict(rope_type="default", rope_theta=1000000.0, mrope_section=[8, 4, 4],
                                       mrope_interleaved=True)),
        vision=dict(depth=4, hidden_size=32, intermediate_size=48, num_heads=4, patch_size=2,
                    num_position_embeddings=64, deepstack_visual_indexes=[1, 3]),
        tie=True, seed=3, bf16=True, find_eos=True),
}


def build_model(name, spec):
    torch.manual_seed(spec["seed"])
    config = make_config(spec["text"], spec["vision"], spec["tie"])
    model = Qwen3VLForConditionalGeneration(config).eval().float()
    g = torch.Generator().manual_seed(100 + spec["seed"])
    seen = set()
    for pname, p in model.named_parameters():
        if p.data_ptr() in seen:
            continue
        seen.add(p.data_ptr())
        if p.dim() == 1:
            # HF initialises norms to 1 and biases to 0; random values make the tests see them.
            base = 1.0 if ("norm" in pname and pname.endswith("weight")) else 0.0
            p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))
        else:
            p.copy_(0.2 * torch.randn(p.shape, generator=g))
    if spec.get("bf16"):
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    model.generation_config = GenerationConfig(do_sample=False, eos_token_id=[EOS_A, EOS_B], pad_token_id=PAD,
                                               bos_token_id=None)
    tied = model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    return model, tied


def save_model(model, spec, directory):
    kwargs = {}
    if spec.get("shard"):
        kwargs["max_shard_size"] = spec["shard"]
    if spec.get("bf16"):
        # Convert a copy: model.to(bf16) would also round the rotary inv_freq buffers of the model that
        # computes the fixtures, which no checkpoint loader reproduces.
        copy.deepcopy(model).to(torch.bfloat16).save_pretrained(directory, **kwargs)
    else:
        model.save_pretrained(directory, **kwargs)


def text_ids(g, n):
    return torch.randint(1, IMAGE, (n,), generator=g).tolist()


def image_prompt(g, before, grids, between, after):
    ids = text_ids(g, before)
    for i, (t, h, w) in enumerate(grids):
        if i > 0:
            ids += text_ids(g, between)
        ids += [VSTART] + [IMAGE] * (t * h * w // 4) + [VEND]
    return ids + text_ids(g, after)


class PositionRecorder:
    """Captures the position_ids that Qwen3VLModel hands its language model on the prefill call."""

    def __init__(self, model):
        self.value = None
        self.rotary_value = None
        lm = model.model.language_model
        self.handles = [lm.register_forward_pre_hook(self.hook, with_kwargs=True)]
        if hasattr(lm, "rotary_emb"):  # fallback: the rotary module sees the positions too
            self.handles.append(lm.rotary_emb.register_forward_pre_hook(self.rotary_hook, with_kwargs=True))

    def hook(self, module, args, kwargs):
        if self.value is None and kwargs.get("position_ids") is not None:
            self.value = kwargs["position_ids"].detach().clone()

    def rotary_hook(self, module, args, kwargs):
        if self.rotary_value is None:
            pos = kwargs.get("position_ids", args[1] if len(args) > 1 else None)
            if pos is not None:
                self.rotary_value = pos.detach().clone()

    def close(self):
        for h in self.handles:
            h.remove()
        if self.value is None:
            self.value = self.rotary_value


def run_case(model, spec, name, rows, grids, max_new, g, eos_ids):
    """rows: list of token lists (left-padded into one batch); grids: image grids in prompt order."""
    B = len(rows)
    L = max(len(r) for r in rows)
    input_ids = torch.full((B, L), PAD, dtype=torch.long)
    attention = torch.zeros((B, L), dtype=torch.long)
    for b, r in enumerate(rows):
        input_ids[b, L - len(r):] = torch.tensor(r)
        attention[b, L - len(r):] = 1
    mm = (input_ids == IMAGE).long() * attention
    kwargs = dict(input_ids=input_ids, attention_mask=attention)
    out = {"input_ids": input_ids, "attention_mask": attention, "mm_token_type_ids": mm}
    vs = spec["vision"]
    if grids:
        cols = 3 * 2 * vs["patch_size"] ** 2
        n = sum(t * h * w for t, h, w in grids)
        pixel_values = torch.randn((n, cols), generator=g)
        grid = torch.tensor(grids, dtype=torch.long)
        kwargs.update(pixel_values=pixel_values, image_grid_thw=grid, mm_token_type_ids=mm)
        out.update(pixel_values=pixel_values, image_grid_thw=grid)
        vis = model.model.visual(pixel_values, grid_thw=grid)
        if hasattr(vis, "pooler_output"):
            merger, deepstack = vis.pooler_output, vis.deepstack_features
            out["vision_last_hidden"] = vis.last_hidden_state.float()
        else:
            merger, deepstack = vis[0], vis[1]
        out["vision_merger"] = merger.float()
        for k, d in enumerate(deepstack):
            out[f"deepstack_{k}"] = d.float()

    model.model.rope_deltas = None  # else a text-only call reports the previous call's deltas
    recorder = PositionRecorder(model)
    result = model(**kwargs)
    recorder.close()
    out["logits"] = result.logits.float()
    pos = recorder.value
    if pos is not None:
        if pos.dim() == 3 and pos.shape[0] == 4:
            pos = pos[1:]  # 5.x may prepend the plain text positions
        out["position_ids"] = pos.long()
    deltas = getattr(model.model, "rope_deltas", None)
    if deltas is not None:
        out["rope_deltas"] = deltas.reshape(-1).long()

    gen = model.generate(**kwargs, max_new_tokens=max_new, do_sample=False, return_dict_in_generate=True,
                         output_logits=True)
    new = gen.sequences[:, L:]
    step_logits = torch.stack([s.float() for s in gen.logits], dim=1)
    generated = torch.full(new.shape, -1, dtype=torch.long)
    for b in range(B):
        for i in range(new.shape[1]):
            generated[b, i] = new[b, i]
            if int(new[b, i]) in eos_ids:
                break
    out["generated"] = generated
    out["step_logits"] = step_logits
    return {k: v.contiguous() for k, v in out.items()}


def choose_eos(model, spec, rows, grids, g_state):
    """Picks a token that greedy decoding of this prompt emits as its 5th-or-later new token and that did
    not appear before, so that a stop on it is visible."""
    g = torch.Generator().manual_seed(g_state)
    probe = run_case(model, spec, "probe", rows, grids, 12, g, (EOS_A, EOS_B))["generated"][0].tolist()
    for i in range(4, len(probe)):
        if probe[i] not in probe[:i] and probe[i] >= 0:
            return probe[i], probe
    return None, probe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "cases": {}, "models": {}}
    failures = 0

    plans = {
        "m1": [("m1_image", lambda g: ([image_prompt(g, 5, [(1, 6, 10)], 0, 7)], [(1, 6, 10)]), 12),
               ("m1_text", lambda g: ([text_ids(g, 9)], []), 10, 8)],
        "m2": [("m2_two_images", lambda g: ([image_prompt(g, 4, [(1, 4, 6), (1, 10, 4)], 3, 5)],
                                            [(1, 4, 6), (1, 10, 4)]), 8),
               ("m2_batch", lambda g: ([image_prompt(g, 3, [(1, 6, 8)], 0, 6), text_ids(g, 7)], [(1, 6, 8)]), 6)],
        "m3": [("m3_image", lambda g: ([image_prompt(g, 4, [(1, 14, 6)], 0, 5)], [(1, 14, 6)]), 12)],
    }

    for mname, spec in MODELS.items():
        try:
            model, tied = build_model(mname, spec)
            mdir = os.path.join(args.out, mname)
            minfo = {"tied_in_hf": tied, "tie_requested": spec["tie"]}
            if spec.get("find_eos"):
                seed = 1000 + spec["seed"]
                rows, grids = plans[mname][0][1](torch.Generator().manual_seed(seed))
                eos, probe = choose_eos(model, spec, rows, grids, seed + 1)
                minfo["eos_probe"] = probe
                if eos is not None:
                    model.generation_config.eos_token_id = [eos, EOS_B]
                    minfo["eos"] = [eos, EOS_B]
            save_model(model, spec, mdir)
            meta["models"][mname] = minfo
            print(f"{mname}: saved ({'tied' if tied else 'untied'}) -> {sorted(os.listdir(mdir))}", flush=True)
            for cname, make, max_new, *min_new in plans[mname]:
                try:
                    seed = 1000 + spec["seed"] if spec.get("find_eos") else hash_name(cname)
                    eos_ids = tuple(model.generation_config.eos_token_id)
                    if min_new:
                        # Text-only prompts: take the first seed whose greedy run gives at least min_new
                        # tokens before an end id, so the case exercises several decode steps.
                        for k in range(50):
                            rows, grids = make(torch.Generator().manual_seed(seed + 7 * k))
                            probe = run_case(model, spec, "probe", rows, grids, max_new,
                                             torch.Generator().manual_seed(seed + 7 * k + 1), eos_ids)
                            if (probe["generated"][0] >= 0).sum().item() >= min_new[0]:
                                seed = seed + 7 * k
                                break
                    rows, grids = make(torch.Generator().manual_seed(seed))
                    tensors = run_case(model, spec, cname, rows, grids, max_new,
                                       torch.Generator().manual_seed(seed + 1), eos_ids)
                    save_file(tensors, os.path.join(args.out, f"case_{cname}.safetensors"),
                              metadata={"model": mname})
                    info = {"model": mname, "max_new_tokens": max_new, "rows": [len(r) for r in rows],
                            "grids": grids, "generated": tensors["generated"].tolist(),
                            "has_positions": "position_ids" in tensors, "has_deltas": "rope_deltas" in tensors}
                    if "rope_deltas" in tensors:
                        info["rope_deltas"] = tensors["rope_deltas"].tolist()
                    meta["cases"][cname] = info
                    print(f"  {cname}: rows {info['rows']} grids {grids} generated {info['generated']}", flush=True)
                except Exception:
                    failures += 1
                    traceback.print_exc()
        except Exception:
            failures += 1
            traceback.print_exc()
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("failures:", failures)
    return 1 if failures else 0


def hash_name(name):
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


if __name__ == "__main__":
    sys.exit(main())
