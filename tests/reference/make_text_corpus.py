#!/usr/bin/env python3
"""Builds the committed tokenizer parity corpus, tests/reference/corpora/text/.

Real text nobody on the project wrote, taken from a Debian 12 machine (deterministic choice, seed
20261124): translated man pages in ~30 languages, /usr/share/doc READMEs, changelogs and HTML, C
headers and Python sources, the glibc locale files (month/day names in many scripts, decoded from
their <Uxxxx> escapes), the Unicode emoji test file (every emoji and ZWJ sequence), and strings from
the Unicode NormalizationTest (NFC-sensitive by construction). To these it adds constructed edge
cases (white-space and newline runs, contractions in mixed case, digit runs, added tokens inside
text, NFC-sensitive sequences, marks newer than Unicode 9.0) and seeded random strings over an
alphabet of the tokenizer's corner cases.

Outputs:
  corpus.jsonl   one {"source": ..., "text": ...} per line (valid UTF-8)
  invalid.jsonl  one {"source": ..., "hex": ...} per line: byte strings that are NOT valid UTF-8
                 (kspam repairs them as Python's bytes.decode("utf-8", "replace") does)

Command that produced the committed files (Debian 12, 2026-11-24):
  python3 tests/reference/make_text_corpus.py tests/reference/corpora/text
"""
import bz2
import glob
import gzip
import json
import os
import random
import re
import sys

RNG = random.Random(20261124)


def chunks(text, lo=300, hi=6000):
    """Cuts text into pieces of random size at line boundaries."""
    lines = text.splitlines(keepends=True)
    out, cur, target = [], "", RNG.randint(lo, hi)
    for line in lines:
        cur += line
        if len(cur) >= target:
            out.append(cur)
            cur, target = "", RNG.randint(lo, hi)
    if cur.strip():
        out.append(cur)
    return out


def read_text(path):
    data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def take(records, source, paths, budget, lo=300, hi=6000):
    used = 0
    for path in paths:
        if used >= budget:
            break
        text = read_text(path)
        if not text:
            continue
        for piece in chunks(text, lo, hi)[:3]:
            if used >= budget:
                break
            records.append({"source": f"{source}:{path}", "text": piece})
            used += len(piece.encode("utf-8"))


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    records = []

    # Translated man pages: real prose in many languages and scripts.
    for lang_dir in sorted(glob.glob("/usr/share/man/*/")):
        lang = os.path.basename(lang_dir.rstrip("/"))
        if lang.startswith("man"):
            continue
        pages = sorted(glob.glob(lang_dir + "man*/*.gz"))
        RNG.shuffle(pages)
        take(records, "man-" + lang, pages, 24000)
    english = sorted(glob.glob("/usr/share/man/man[1-8]/*.gz"))
    RNG.shuffle(english)
    take(records, "man-en", english, 60000)

    docs = sorted(glob.glob("/usr/share/doc/*/README*") + glob.glob("/usr/share/doc/*/copyright") +
                  glob.glob("/usr/share/doc/*/changelog*.gz") + glob.glob("/usr/share/doc/*/NEWS*"))
    RNG.shuffle(docs)
    take(records, "doc", docs, 220000)
    html = sorted(glob.glob("/usr/share/doc/**/*.html", recursive=True))
    RNG.shuffle(html)
    take(records, "html", html, 160000)

    code = sorted(glob.glob("/usr/include/*.h") + glob.glob("/usr/lib/python3.11/*.py") +
                  glob.glob("/usr/share/perl/5.36/*.pm"))
    RNG.shuffle(code)
    take(records, "code", code, 180000)

    # glibc locales: decode <Uxxxx> escapes into the script itself.
    locales = sorted(glob.glob("/usr/share/i18n/locales/*"))
    RNG.shuffle(locales)
    used = 0
    for path in locales:
        if used > 200000:
            break
        text = read_text(path)
        if not text:
            continue
        text = re.sub(r"<U([0-9A-Fa-f]{4,6})>", lambda m: chr(int(m.group(1), 16)), text)
        body = text[text.find("LC_TIME"):] if "LC_TIME" in text else text
        for piece in chunks(body, 300, 3000)[:2]:
            records.append({"source": "locale:" + path, "text": piece})
            used += len(piece.encode("utf-8"))

    # Emoji: the Unicode test file's lines carry every emoji, modifier and ZWJ sequence.
    emoji = open("/usr/share/unicode/emoji/emoji-test.txt", encoding="utf-8").read()
    for piece in chunks(emoji, 500, 4000):
        if RNG.random() < 0.5:
            records.append({"source": "emoji-test", "text": piece})

    # NFC-sensitive strings from NormalizationTest: columns 1 (source) and 2 (its NFC) as text.
    norm_lines = [l for l in bz2.open("/usr/share/unicode/NormalizationTest.txt.bz2", "rt", encoding="utf-8")
                  if l and l[0] not in "#@"]
    RNG.shuffle(norm_lines)
    batch = []
    for line in norm_lines[:4000]:
        cols = line.split(";")
        batch.append("".join(chr(int(h, 16)) for h in cols[0].split()) + " " +
                     "".join(chr(int(h, 16)) for h in cols[2].split()))
        if len(batch) == 40:
            records.append({"source": "normalization-test", "text": " | ".join(batch)})
            batch = []

    # Constructed edge cases.
    edge = [
        "", " ", "  ", "\n", "\n\n", "\r\n", "\t", "a", "'", "'s", "'S", "' s", "''s",
        "don't DON'T Don'T we'll WE'LL we'Ll I'm I'M you're YOU'RE they've THEY'VE he'd HE'D it's IT'S",
        "'sam 'ſ 'ſt 'Ll 'lL 'vE 'Re 'rE", "rock'n'roll o'clock '90s ’s ‘quoted’ “double”",
        "hello   world", "hello   ", "   hello", "a \n  b", "a\n\n\nb", "a \t \n \t b", "x  !!\n\ny", "x !!\n \n",
        "line1\r\nline2\r\n\r\n", "tabs\t\t\tand spaces   \t  mixed", "\u00a0\u00a0x", "a\u3000b\u3000\u3000c",
        "\u2028\u2029\u0085\x0b\x0c", "x\x1c\x1d\x1e\x1f y", "\u200b\u200d\ufeffzero width",
        "0123456789 12345678901234567890 3.14159 1,000,000 -42 +7 1e10 0x1F 2026-11-24 12:30:45",
        "½ ¼ ² ³ ① ⑳ Ⅻ ٣٤٥ ४५६ 〇一二三", "#nike!!! 50% off", "SALE!!!$$$ $9.99 €5,00 ¥1000",
        "<|im_start|>user\nhi<|im_end|>\n", "text<|endoftext|>more", "<<|im_end|>>", "<|im_end", "|im_end|>",
        "a<think>b</think>c", "<tool_call>{\"name\": \"x\"}</tool_call>", "<|vision_start|><|image_pad|><|vision_end|>",
        "<|image_pad|><|image_pad|><|image_pad|>", "<|fim_prefix|>def f():<|fim_suffix|><|fim_middle|>",
        "e\u0301 \u212b \u2126 A\u030a \u1e9b\u0323 q\u0307\u0323 \u0958 \ufb01 \uac00\u11a8 \u1100\u1161\u11a8",
        "\u0041\u0300\u0301\u0302 \u0061\u0328\u0301 \u0065\u0304\u0301 \u05d0\u05b8\u05bc",
        "\u1ac0\u0300 a\u1ac0\u0301 \u08cc\u0651 \U00011935\U00011930 \U00011938", "हिन्दी தமிழ் ไทย ລາວ ខ្មែរ",
        "Ελληνικά Русский Українська Български עברית العربية فارسی اردو", "中文 日本語 한국어 ᄀᄀᄀ",
        "😀😃😄 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇩🇪🇫🇷 #️⃣ ❤️", "ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝 ｆｕｌｌｗｉｄｔｈ",
        "http://example.com/path?q=a%20b&x=1#frag user@example.org", "a" * 300, " " * 300,
        "aGVsbG8gd29ybGQ" * 40, "=" * 100 + "\n" + "-" * 100, "!!!???...,,,;;;:::",
        "\u0000\u0001\u0002 control \u007f\u0080\u009f", "\ue000\uf8ff private \U000f0000", "\U0002ebf0\u1c89 new letters",
    ]
    for text in edge:
        records.append({"source": "edge", "text": text})

    # Seeded random strings over an alphabet of corner cases.
    alphabet = (list("aZ09 '\n\r\t!.,-_#@$%&*()[]{}<>\"/\\|") + ["'s", "'S", "'ll", "'LL", "ſ", "\u00a0", "\u3000",
                "\u2003", "\u0085", "\x0b", "\x0c", "\x1c", "\u200b", "\u0301", "\u0308", "\u0323", "é", "Å", "\u212b",
                "ß", "ﬁ", "½", "²", "٣", "४", "中", "한", "\u1100", "\u1161", "\u11a8", "😀", "👍🏽", "‍", "<|im_end|>",
                "<think>", "\u1ac0", "\U0002ebf0", "\u0915\u094d"])
    for _ in range(5000):
        n = RNG.randint(1, 24)
        records.append({"source": "fuzz", "text": "".join(RNG.choice(alphabet) for _ in range(n))})

    with open(os.path.join(out_dir, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    # Invalid UTF-8: constructed byte strings and real text cut inside a character.
    invalid = [b"\xff", b"\xfe\xff", b"abc\x80def", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
               b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\xe2\x82 x", b"\xf0\x9f\x98", b"\xf0\x9f\x98a\xf0\x9f",
               b"caf\xe9 na\xefve", b"<|im_end|>\xff<|im_start|>", b"a\xc3", b"\xc3\xc3\xa9", b"\x80\x80\x80",
               b"it\x92s \x93quoted\x94", b"\xef\xbb\xbfBOM then \xff"]
    for r in RNG.sample([r for r in records if r["source"].startswith(("man-", "locale"))], 60):
        data = r["text"].encode("utf-8")[:RNG.randint(20, 400)]
        cut = RNG.randint(0, len(data))
        data = data[:cut] + bytes([RNG.choice([0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff])]) + data[cut:]
        invalid.append(data)
    with open(os.path.join(out_dir, "invalid.jsonl"), "w", encoding="utf-8") as f:
        for k, data in enumerate(invalid):
            f.write(json.dumps({"source": f"invalid-{k}", "hex": data.hex()}) + "\n")
    total = sum(len(r["text"].encode("utf-8")) for r in records)
    print(f"{len(records)} texts, {total} bytes; {len(invalid)} invalid byte strings", file=sys.stderr)


if __name__ == "__main__":
    main()
