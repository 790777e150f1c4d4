#!/usr/bin/python3
"""Fixtures for the data layer, made by upstream tools rather than by kspam itself.

1. pandas_quoting.tsv: written by pandas.DataFrame.to_csv(sep='\t') (QUOTE_MINIMAL) with every quoting
   edge case, CRLF line ends and a UTF-8 BOM; pandas_quoting.json holds what Python's csv module
   reads back (the truth TsvReader must reproduce).
2. rng_seed42.json: the first outputs of SplitMix64-seeded xoshiro256** for seed 42, computed here in
   plain Python from the published algorithm (Blackman & Vigna), so kspam::Rng is checked against an
   independent implementation.

Command: /usr/bin/python3 tests/reference/make_data_fixtures.py   (Debian's python3-pandas 1.5.3)
"""
import csv
import io
import json
import os

import pandas as pd

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "data")
os.makedirs(OUT, exist_ok=True)

rows = [
    {"product_id": "q1", "description": 'He said "genuine" leather', "image_url": "images/a.jpg",
     "label": 0, "yes_count": 0, "no_count": 3, "notes": "plain"},
    {"product_id": "q2", "description": "tab\tinside", "image_url": "", "label": 1, "yes_count": 2, "no_count": 1,
     "notes": ""},
    {"product_id": "q3", "description": "line one\nline two\r\nline three", "image_url": "https://x.example/p.webp",
     "label": 1, "yes_count": 3, "no_count": 0, "notes": '"'},
    {"product_id": "q4", "description": '"starts with a quote', "image_url": "", "label": 0, "yes_count": 1,
     "no_count": 2, "notes": "Ünïcödé ✨ 日本語"},
    {"product_id": "q5", "description": "ends with a quote\"", "image_url": "", "label": 0, "yes_count": 0,
     "no_count": 0, "notes": "  padded  "},
    {"product_id": "q6", "description": "", "image_url": "", "label": 1, "yes_count": 4, "no_count": 1,
     "notes": "empty description"},
]
# Columns in a different order than the schema, upper-case and padded names, an extra column.
df = pd.DataFrame(rows)[["label", "product_id", "description", "notes", "image_url", "no_count", "yes_count"]]
df.columns = ["Label ", "PRODUCT_ID", "description", "Notes", "image_url", "no_count", "yes_count"]
text = df.to_csv(sep="\t", index=False, lineterminator="\r\n")
with open(os.path.join(OUT, "pandas_quoting.tsv"), "wb") as f:
    f.write(b"\xef\xbb\xbf" + text.encode("utf-8"))
parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
with open(os.path.join(OUT, "pandas_quoting.json"), "w") as f:
    json.dump({"records": parsed}, f, ensure_ascii=False, indent=1)

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


state = 42
s = []
for _ in range(4):
    state, word = splitmix64(state)
    s.append(word)
outputs = []
for _ in range(8):
    outputs.append(rotl((s[1] * 5) & MASK, 7) * 9 & MASK)
    t = (s[1] << 17) & MASK
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
with open(os.path.join(OUT, "rng_seed42.json"), "w") as f:
    json.dump({"seed": 42, "next_u64": [str(o) for o in outputs]}, f, indent=1)
print("wrote", OUT)


# 3. split_seed42.json: the stratified split of 40 rows (every 4th spam) with fraction 0.25 and
#    seed 42, by the algorithm documented in include/kspam/data/split.hpp: one generator, class 0
#    shuffled first then class 1 (Fisher-Yates from the top, bounded integers by rejection of
#    values below 2^64 mod bound), the first floor(n * fraction + 0.5) of each class to validation.
class Xoshiro:
    def __init__(self, seed):
        self.s = []
        st = seed
        for _ in range(4):
            st, w = splitmix64(st)
            self.s.append(w)

    def next(self):
        s = self.s
        r = rotl((s[1] * 5) & MASK, 7) * 9 & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return r

    def below(self, bound):
        threshold = ((1 << 64) - bound) % bound
        r = self.next()
        while r < threshold:
            r = self.next()
        return r % bound


rng = Xoshiro(42)
labels = [1 if i % 4 == 0 else 0 for i in range(40)]
val = []
for cls in (0, 1):
    members = [i for i, y in enumerate(labels) if y == cls]
    for i in range(len(members), 1, -1):
        j = rng.below(i)
        members[i - 1], members[j] = members[j], members[i - 1]
    n_val = int(len(members) * 0.25 + 0.5)
    val += members[:n_val]
with open(os.path.join(OUT, "split_seed42.json"), "w") as f:
    json.dump({"rows": 40, "spam_every": 4, "val_fraction": 0.25, "seed": 42, "val": sorted(val)}, f)
