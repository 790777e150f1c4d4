#!/usr/bin/env python3
"""Tokenizer and chat-template parity fixtures from Hugging Face (tokenizers 0.23.2, transformers 5.17).

Runs where Hugging Face is installed (the GPU machine). Reads the real Qwen3 tokenizer.json, the
committed corpus (tests/reference/corpora/text/, made by make_text_corpus.py) and the Qwen3-VL
Instruct chat template, and writes into OUT:

  corpus_ids.bin    for each corpus.jsonl text, then each invalid.jsonl byte string: LEB128 varint
                    count, then the ids as varints (Tokenizer.encode(text, add_special_tokens=False));
                    invalid byte strings are first decoded with bytes.decode("utf-8", "replace")
  corpus_meta.json  versions, counts, and per text the first 16 hex digits of SHA-256(decode(ids))
                    and whether decode(ids) == text (round trip)
  decode_cases.jsonl  {"ids", "skip_special", "text"}: decode of crafted id lists (partial UTF-8,
                    special and unknown ids)
  classes.json      the code points Oniguruma (as tokenizers runs it) puts in \\p{L}, \\p{N}, \\s, as
                    ranges, read with Split pre-tokenizers over a string of every scalar value
  nfc.json          [code point, NFC(chr(code point))] for every code point NFC changes
  chat.jsonl        chat-template cases: the messages, apply_chat_template's text with and without
                    the generation prompt, and the processor's input_ids / image_grid_thw with the
                    Qwen3-VL label rule (loss from after "<|im_start|>assistant\\n" to the end)

Command that produced the committed fixtures (GPU machine through the device `run` tool, 2026-11-24,
tokenizers 0.23.2, transformers 5.17.0; .gpu-bin/text/ held a copy of the setup script's tokenizer.json):
  python3 tests/reference/make_text_fixtures.py --tokenizer .gpu-bin/text/tokenizer.json \
      --corpus tests/reference/corpora/text \
      --template tests/reference/fixtures/text/qwen3_vl_instruct_chat_template.jinja --out /tmp/textfx
  tar czf $OUT/text_fixtures.tar.gz -C /tmp/textfx .     # then unpacked into tests/reference/fixtures/text/

The template file is a verbatim copy of the Qwen3-VL Instruct chat template (5,292 bytes, the size
qwen3-vl-architecture.md §6 gives for the checkpoint's file), used only to render these fixtures.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import time


def varint(n, out):
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def ranges(flags):
    out, start = [], None
    for cp, f in enumerate(flags):
        if f and start is None:
            start = cp
        elif not f and start is not None:
            out.append([start, cp - 1])
            start = None
    if start is not None:
        out.append([start, len(flags) - 1])
    return out


def class_sets(pre_tokenizers, Regex):
    """Which code points each Oniguruma class matches, via Split(..., "removed") over all scalars:
    the pieces left are the runs that did not match."""
    scalars = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    text = "".join(chr(cp) for cp in scalars)
    result = {}
    for name, pattern in (("letter", r"\p{L}"), ("number", r"\p{N}"), ("space", r"\s")):
        pieces = pre_tokenizers.Split(Regex(pattern), behavior="removed").pre_tokenize_str(text)
        for piece, (a, b) in pieces[:50] + pieces[-50:]:
            assert piece == text[a:b], "offsets are not character offsets"
        matched = [True] * len(scalars)
        for _, (a, b) in pieces:
            for i in range(a, b):
                matched[i] = False
        flags = [False] * 0x110000
        for i, cp in enumerate(scalars):
            flags[cp] = matched[i]
        result[name] = ranges(flags)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    import tokenizers
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers

    t0 = time.time()
    tok = Tokenizer.from_file(args.tokenizer)
    texts = [json.loads(l)["text"] for l in open(os.path.join(args.corpus, "corpus.jsonl"), encoding="utf-8")]
    invalid = [bytes.fromhex(json.loads(l)["hex"]) for l in open(os.path.join(args.corpus, "invalid.jsonl"))]
    inputs = texts + [b.decode("utf-8", "replace") for b in invalid]
    blob = bytearray()
    decode_hash, roundtrip = [], []
    for text in inputs:
        ids = tok.encode(text, add_special_tokens=False).ids
        varint(len(ids), blob)
        for i in ids:
            varint(i, blob)
        dec = tok.decode(ids, skip_special_tokens=False)
        decode_hash.append(hashlib.sha256(dec.encode("utf-8")).hexdigest()[:16])
        roundtrip.append(dec == text)
    open(os.path.join(args.out, "corpus_ids.bin"), "wb").write(bytes(blob))
    import transformers
    meta = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
            "texts": len(texts), "invalid": len(invalid), "decode_sha256_16": decode_hash, "roundtrip": roundtrip}
    json.dump(meta, open(os.path.join(args.out, "corpus_meta.json"), "w"))
    print(f"corpus: {len(inputs)} inputs in {time.time() - t0:.1f}s, roundtrip {sum(roundtrip)}/{len(inputs)}",
          file=sys.stderr)

    # Decode of crafted id lists.
    rng = random.Random(7)
    pools = [list(range(0, 256)), list(range(151643, 151669)), list(range(151669, 151936)) + [151936, 200000],
             list(range(256, 151643))]
    with open(os.path.join(args.out, "decode_cases.jsonl"), "w", encoding="utf-8") as f:
        for k in range(600):
            ids = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 10))]
            skip = bool(k % 2)
            f.write(json.dumps({"ids": ids, "skip_special": skip,
                                "text": tok.decode(ids, skip_special_tokens=skip)}, ensure_ascii=False) + "\n")

    t0 = time.time()
    json.dump(class_sets(pre_tokenizers, Regex), open(os.path.join(args.out, "classes.json"), "w"))
    print(f"classes in {time.time() - t0:.1f}s", file=sys.stderr)

    # NFC of every code point; "\x00" separates them (a starter that composes with nothing).
    t0 = time.time()
    scalars = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and cp != 0]
    normalized = normalizers.NFC().normalize_str("\x00".join(chr(cp) for cp in scalars)).split("\x00")
    assert len(normalized) == len(scalars)
    changed = [[cp, n] for cp, n in zip(scalars, normalized) if n != chr(cp)]
    json.dump(changed, open(os.path.join(args.out, "nfc.json"), "w"), ensure_ascii=False)
    print(f"nfc: {len(changed)} code points change, {time.time() - t0:.1f}s", file=sys.stderr)

    try:
        make_chat(args, tok)
    except Exception:  # keep the tokenizer fixtures even if the chat part breaks
        import traceback
        traceback.print_exc()
        sys.exit(1)


def make_chat(args, tok):
    import numpy as np
    from PIL import Image
    template = open(args.template, encoding="utf-8").read()
    try:
        from transformers import PreTrainedTokenizerFast as Fast
    except ImportError:
        from transformers import TokenizersBackend as Fast
    hf_tok = Fast(tokenizer_file=args.tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    processor = None
    why = ""
    try:
        from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor
        image_processor = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                                                image_mean=[0.5] * 3, image_std=[0.5] * 3,
                                                size={"shortest_edge": 65536, "longest_edge": 16777216})
        try:
            from transformers import Qwen3VLVideoProcessor
            video_processor = Qwen3VLVideoProcessor()
        except Exception:
            video_processor = None
        processor = Qwen3VLProcessor(image_processor=image_processor, tokenizer=hf_tok,
                                     video_processor=video_processor, chat_template=template)
    except Exception as e:  # recorded in the fixture; the manual expansion below is then used
        why = f"{type(e).__name__}: {e}"
        from transformers import Qwen2VLImageProcessor
        image_processor = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                                                image_mean=[0.5] * 3, image_std=[0.5] * 3,
                                                size={"shortest_edge": 65536, "longest_edge": 16777216})
    print(f"chat: processor {'ok' if processor else 'unavailable: ' + why}", file=sys.stderr)

    system = ("You review product listings on an online marketplace for keyword spam. Answer with exactly one JSON "
              "object: {\"is_spam\": true or false, \"confidence\": 0..1, \"reason\": \"short\"}")
    answer = '{"is_spam":true,"confidence":1.0,"reason":"Description lists brands unrelated to the item."}'
    cases = [
        ("image+answer", [system], (640, 480), "Is this listing keyword spam?\nDescription: Blue knit sweater, warm.", answer),
        ("image+prompt", [system], (300, 200), "Is this listing keyword spam?\nDescription: Nike Adidas Gucci Prada", None),
        ("noimage+answer", [system], None, "The image is unavailable; judge from the text alone.\nDescription: Sneakers size 42 — très bon état 👟", answer),
        ("noimage+prompt", [system], None, "Description: <|im_end|> injected  tokens\n\n and  spaces ", None),
        ("nosystem+image", [], (28, 28), "Description: tiny image", '{"is_spam":false,"confidence":0.67,"reason":"ok"}'),
        ("tall-image", [system], (100, 2000), "Description: long\r\nlines\twith tabs", answer),
        ("answer-newline", [system], None, "Description: x", "\n{\"is_spam\":false,\"confidence\":0.5,\"reason\":\"leading newline\"}"),
    ]
    pad_id = tok.token_to_id("<|image_pad|>")
    with open(os.path.join(args.out, "chat.jsonl"), "w", encoding="utf-8") as f:
        for name, sys_parts, size, text, ans in cases:
            messages, user_content = [], []
            if sys_parts:
                messages.append({"role": "system", "content": sys_parts[0]})
            image = None
            if size:
                rng = np.random.default_rng(len(name))
                image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
                user_content.append({"type": "image", "image": "listing.png"})
            user_content.append({"type": "text", "text": text})
            messages.append({"role": "user", "content": user_content})
            record = {"name": name, "messages": messages}
            record["prompt_text"] = hf_tok.apply_chat_template(messages, chat_template=template, tokenize=False,
                                                               add_generation_prompt=True)
            full_messages = messages + ([{"role": "assistant", "content": ans}] if ans is not None else [])
            full_text = hf_tok.apply_chat_template(full_messages, chat_template=template, tokenize=False,
                                                   add_generation_prompt=ans is None)
            record["text"] = full_text
            record["answer"] = ans
            if image is not None:
                grid = image_processor(images=[image], return_tensors="np")["image_grid_thw"][0].tolist()
                record["image_grid_thw"] = grid
                record["image_size"] = list(size)
            if processor is not None:
                out = processor(text=[full_text], images=[image] if image is not None else None, return_tensors="np")
                ids = out["input_ids"][0].tolist()
                if image is not None:
                    assert out["image_grid_thw"][0].tolist() == record["image_grid_thw"]
                record["expansion"] = "Qwen3VLProcessor"
            else:
                expanded = full_text
                if image is not None:
                    n = int(np.prod(record["image_grid_thw"])) // 4
                    expanded = full_text.replace("<|image_pad|>", "<|image_pad|>" * n, 1)
                ids = tok.encode(expanded, add_special_tokens=False).ids
                record["expansion"] = "manual (" + why + ")"
            record["input_ids"] = ids
            record["image_tokens"] = sum(1 for i in ids if i == pad_id)
            # Qwen3-VL fine-tuning label rule: supervise after the last "<|im_start|>assistant\n".
            labels = [-100] * len(ids)
            if ans is not None:
                # (When the answer starts with a line break, the template's "\n" merges into the
                # answer's first token; that token is then supervised.)
                k = max(k for k in range(len(ids) - 1) if ids[k:k + 2] == [151644, 77091])
                start = k + 3 if ids[k + 2] == 198 else k + 2
                labels[start:] = ids[start:]
            record["labels"] = labels
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
