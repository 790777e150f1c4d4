#!/usr/bin/python3
"""Generates kspam's bundled sample data: data/sample/listings.tsv (labeled), data/sample/test.tsv
(unlabeled) and data/sample/images/ (product photos).

The photos are real product photographs from Fashion-MNIST (Zalando Research, MIT licence; Debian
package dataset-fashion-mnist), upscaled and tinted to a product colour. Descriptions are written
from templates that reproduce the keyword-spam patterns marketplaces meet: unrelated brand
stuffing, hashtag walls, off-platform calls to action ("DM for discounts"), repeated keywords, and
text that contradicts the photo. Annotator votes carry realistic disagreement; the label is the
majority vote (ties settled by the adjudicated truth), so a few labels are wrong, as in real data.

Usage: /usr/bin/python3 scripts/make_sample_data.py [--seed 20261124] [--out data/sample]
Deterministic for a given seed (numpy's PCG64 and Pillow's encoders).
"""
import argparse
import gzip
import os
import shutil

import numpy as np
import pandas as pd
from PIL import Image

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"

CLASSES = [
    ("t-shirt", ["T-shirt", "tee", "crew-neck T-shirt", "cotton top"]),
    ("trousers", ["trousers", "chinos", "slim-fit trousers", "wide-leg trousers"]),
    ("pullover", ["pullover", "jumper", "knit sweater", "crew-neck sweater"]),
    ("dress", ["dress", "midi dress", "summer dress", "wrap dress"]),
    ("coat", ["coat", "wool coat", "parka", "trench coat"]),
    ("sandals", ["sandals", "strappy sandals", "slides", "flat sandals"]),
    ("shirt", ["shirt", "button-down shirt", "flannel shirt", "linen shirt"]),
    ("sneakers", ["sneakers", "trainers", "running shoes", "canvas sneakers"]),
    ("bag", ["bag", "tote bag", "shoulder bag", "leather handbag"]),
    ("ankle boots", ["ankle boots", "Chelsea boots", "leather boots", "heeled ankle boots"]),
]
FOOTWEAR = {5, 7, 9}

COLOURS = {
    "navy": (31, 45, 84), "black": (30, 30, 32), "red": (170, 35, 40), "beige": (205, 185, 150),
    "olive": (105, 110, 60), "grey": (120, 122, 128), "burgundy": (110, 25, 45), "mustard": (205, 160, 40),
    "cream": (235, 225, 200), "forest green": (35, 85, 55), "sky blue": (110, 160, 210), "brown": (110, 70, 40),
}

HONEST_BRANDS = ["Uniqlo", "Levi's", "H&M", "Clarks", "Birkenstock", "Barbour", "Fjällräven", "Dr. Martens",
                 "Nike", "Adidas", "Zara", "Mango", "COS", "Patagonia", "Vans", "Converse"]
STUFFED_BRANDS = ["Nike", "Adidas", "Gucci", "Prada", "Louis Vuitton", "Chanel", "Balenciaga", "Yeezy",
                  "Supreme", "Off-White", "Dior", "Versace", "Rolex", "Jordan", "Moncler", "Burberry",
                  "Hermès", "Fendi", "Stone Island", "New Balance"]
HASHTAGS = ["#fashion", "#style", "#ootd", "#sale", "#cheap", "#trending", "#nike", "#gucci", "#luxury",
            "#deal", "#instafashion", "#streetwear", "#hype", "#designer", "#fyp", "#viral", "#outlet",
            "#bargain", "#mustbuy", "#sneakerhead", "#vintage", "#y2k"]
CTAS = [
    "DM for discounts!!", "DM me for a better price", "WhatsApp +44 7700 900{n:03d} for bulk prices",
    "Text me on Telegram @cheapdeals{n} for 70% off", "Visit www.best-outlet-deals{n}.example for more",
    "Contact me outside the app, I give discount", "Message on Insta @fashion.plug{n} for wholesale",
    "Pay by bank transfer for 20% off, DM", "Email bestprice{n}@mail.example for catalogue",
]
SOFT_CTAS = ["Message me with any questions.", "Happy to send more photos.", "Offers welcome through the app.",
             "Bundle discount if you buy two items here."]
CONDITIONS = ["Brand new with tags.", "Worn twice, like new.", "Good used condition, light wear.",
              "Excellent condition, no marks or pilling.", "Gently used, freshly washed.",
              "Some signs of wear, priced to reflect it."]
DETAILS = {
    0: ["100% cotton, regular fit.", "Soft jersey, true to size.", "Printed logo on the chest, no cracks."],
    1: ["Waist 32, leg 32.", "Stretch cotton, zip fly.", "Pressed crease, belt loops intact."],
    2: ["Merino blend, very warm.", "Ribbed cuffs and hem.", "Relaxed fit, size M."],
    3: ["Fully lined, side zip.", "Knee length, UK 10.", "Light viscose, perfect for summer."],
    4: ["Fully lined, two front pockets.", "Wool blend, size M.", "Detachable hood, water resistant."],
    5: ["EU 39, adjustable straps.", "Cork footbed, barely worn.", "Leather upper, size 38."],
    6: ["Slim fit, collar size 15.5.", "Breathable linen, size L.", "Mother-of-pearl buttons."],
    7: ["EU 42, original box.", "Cushioned sole, size 9 UK.", "Laces replaced, clean soles."],
    8: ["Fits a 13\" laptop.", "Inner zip pocket and magnetic closure.", "Adjustable strap, 30 x 25 cm."],
    9: ["EU 40, resoled last year.", "Side zip, 5 cm heel.", "Genuine leather, size 38."],
}
FOREIGN = [
    "Très bon état, taille M, envoi rapide.", "Wie neu, nur einmal getragen. Größe 38.",
    "Muy buen estado, talla M. Envío en 24 h.", "Ottime condizioni, taglia S.", "状態良好、サイズM。",
]
SIGNOFFS = ["Smoke-free, pet-free home.", "Ships within 2 days.", "Collection in person also possible.", "",
            "Thanks for looking ✨", ""]


def load_fashion_mnist():
    with gzip.open(os.path.join(FASHION_MNIST, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(FASHION_MNIST, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, labels


def render_photo(gray, colour, size, rng):
    """Upscales a 28x28 Fashion-MNIST photo and tints it: bright pixels take the product colour,
    the black background becomes a light studio backdrop with slight vignetting."""
    img = Image.fromarray(gray).resize(size, Image.BICUBIC)
    a = np.asarray(img, dtype=np.float32) / 255.0
    h, w = a.shape
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = 1.0 - 0.08 * (((yy - h / 2) / h) ** 2 + ((xx - w / 2) / w) ** 2)
    backdrop = np.array([242, 240, 236], np.float32) * vignette[..., None]
    base = np.array(colour, np.float32)
    shade = (0.55 + 0.45 * a)[..., None]  # the photo's own shading survives the tint
    obj = np.clip(base * shade + 40 * (a[..., None] - 0.5), 0, 255)
    alpha = np.clip(a * 1.6, 0, 1)[..., None]
    rgb = backdrop * (1 - alpha) + obj * alpha
    rgb += rng.normal(0, 2.0, rgb.shape)  # sensor noise
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def choose(rng, items, k=1):
    idx = rng.choice(len(items), size=k, replace=False)
    return [items[i] for i in idx]


def clean_description(rng, cls, colour):
    noun = choose(rng, CLASSES[cls][1])[0]
    parts = []
    if rng.random() < 0.35:
        parts.append(f"{choose(rng, HONEST_BRANDS)[0]} {colour} {noun}.")
    else:
        parts.append(f"{colour.capitalize()} {noun}.")
    parts.append(choose(rng, CONDITIONS)[0])
    parts += choose(rng, DETAILS[cls], k=int(rng.integers(1, 3)))
    if rng.random() < 0.08:
        parts.append(choose(rng, FOREIGN)[0])
    if rng.random() < 0.25:
        parts.append(choose(rng, SOFT_CTAS)[0])
    if rng.random() < 0.12:
        parts.append(choose(rng, HASHTAGS)[0])  # one hashtag is normal, not spam
    parts.append(choose(rng, SIGNOFFS)[0])
    text = " ".join(p for p in parts if p)
    if rng.random() < 0.05:
        text = text.replace(". ", ".\n", 1)  # multi-line descriptions exist
    return text


def spam_description(rng, cls, colour, pattern, photo_cls):
    n = int(rng.integers(0, 1000))
    if pattern == "photo_mismatch":
        # The text describes another product than the photo shows: keyword bait for a popular search.
        return clean_description(rng, cls, colour), "photo_mismatch"
    base = clean_description(rng, cls, colour) if rng.random() < 0.6 else f"{colour.capitalize()} {choose(rng, CLASSES[cls][1])[0]}"
    if pattern == "brand_stuffing":
        brands = choose(rng, STUFFED_BRANDS, k=int(rng.integers(4, 9)))
        sep = rng.choice([" ", ", ", " / ", " | "])
        lead = rng.choice(["", "not ", "like ", "style: ", "similar to "])
        return f"{base} {lead}{sep.join(brands)}", pattern
    if pattern == "hashtag_wall":
        tags = choose(rng, HASHTAGS, k=int(rng.integers(7, 15)))
        return f"{base} {' '.join(tags)}", pattern
    if pattern == "off_platform_cta":
        cta = choose(rng, CTAS)[0].format(n=n)
        return (f"{cta} {base}" if rng.random() < 0.3 else f"{base} {cta}"), pattern
    if pattern == "keyword_repeat":
        kw = choose(rng, CLASSES[cls][1])[0]
        reps = " ".join([kw] * int(rng.integers(4, 8)))
        extra = " ".join(choose(rng, ["cheap", "best", "sale", "new", "hot", "top quality", "free shipping"], k=3))
        return f"{reps} {extra} {base}", pattern
    # mixed: several patterns at once, the most common shape of real spam
    brands = " ".join(choose(rng, STUFFED_BRANDS, k=3))
    tags = " ".join(choose(rng, HASHTAGS, k=5))
    cta = choose(rng, CTAS)[0].format(n=n)
    return f"{base} {brands} {tags} {cta}", "mixed"


SPAM_PATTERNS = ["brand_stuffing", "hashtag_wall", "off_platform_cta", "keyword_repeat", "mixed", "photo_mismatch"]
SPAM_WEIGHTS = [0.22, 0.18, 0.2, 0.1, 0.18, 0.12]
# How often one annotator gets a row right, by pattern: subtle patterns split the crowd.
ANNOTATOR_ACCURACY = {"clean": 0.93, "brand_stuffing": 0.9, "hashtag_wall": 0.88, "off_platform_cta": 0.93,
                      "keyword_repeat": 0.85, "mixed": 0.96, "photo_mismatch": 0.68}


def make_rows(rng, n, labeled, photos_by_class, id_pool, start):
    rows = []
    for i in range(n):
        is_spam = rng.random() < 0.36
        photo_cls = int(rng.integers(0, 10))
        # The seller describes the colour the photo shows (except where the text contradicts it).
        photo, colour = photos_by_class[photo_cls][int(rng.integers(0, len(photos_by_class[photo_cls])))]
        pattern = "clean"
        text_cls = photo_cls
        if is_spam:
            pattern = str(rng.choice(SPAM_PATTERNS, p=SPAM_WEIGHTS))
            if pattern == "photo_mismatch":
                text_cls = int(rng.choice([c for c in range(10) if c != photo_cls and (c in FOOTWEAR) != (photo_cls in FOOTWEAR)]))
            description, pattern = spam_description(rng, text_cls, colour, pattern, photo_cls)
        else:
            description = clean_description(rng, photo_cls, colour)
        r = rng.random()
        if r < 0.07:
            image_url = ""  # seller uploaded no photo
        elif r < 0.11:
            image_url = f"https://img.kspam-sample.invalid/p/{int(rng.integers(1e8))}.jpg"  # dead link
        else:
            image_url = photo
        label = yes = no = ""
        if labeled:
            annotators = int(rng.choice([0, 3, 3, 3, 4, 5], p=[0.02, 0.4, 0.2, 0.1, 0.18, 0.1]))
            acc = ANNOTATOR_ACCURACY[pattern]
            if image_url == "" or "invalid" in image_url:
                acc = min(acc, 0.75) if pattern == "photo_mismatch" else acc  # annotators could not see the photo
            correct = int((rng.random(annotators) < acc).sum())
            spam_votes = correct if is_spam else annotators - correct
            yes, no = spam_votes, annotators - spam_votes
            label = int(is_spam) if yes == no else int(yes > no)
        rows.append({
            "product_id": f"P{id_pool[start + i]:07d}",
            "description": description,
            "image_url": image_url,
            "label": label,
            "yes_count": yes,
            "no_count": no,
            "category": CLASSES[photo_cls][0],
            "seller_verified": bool(rng.random() < (0.25 if is_spam else 0.6)),
            "_pattern": pattern,
        })
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "sample"))
    ap.add_argument("--labeled", type=int, default=2000)
    ap.add_argument("--unlabeled", type=int, default=300)
    ap.add_argument("--photos-per-class", type=int, default=24)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    out = os.path.abspath(args.out)
    shutil.rmtree(os.path.join(out, "images"), ignore_errors=True)
    os.makedirs(os.path.join(out, "images"), exist_ok=True)

    images, labels = load_fashion_mnist()
    photos_by_class = []
    sizes = [(112, 112), (128, 128), (96, 128), (140, 112)]
    formats = [("jpg", "JPEG", {"quality": 85}), ("png", "PNG", {"optimize": True}), ("webp", "WEBP", {"quality": 80})]
    for cls in range(10):
        members = np.flatnonzero(labels == cls)
        chosen = rng.choice(members, size=args.photos_per_class, replace=False)
        entries = []
        for k, idx in enumerate(chosen):
            colour = choose(rng, list(COLOURS))[0]
            ext, fmt, opts = formats[0] if k % 8 else formats[1 + (k // 8) % 2]
            name = f"fm{int(idx):05d}.{ext}"
            render_photo(images[idx], COLOURS[colour], sizes[k % len(sizes)], rng).save(
                os.path.join(out, "images", name), fmt, **opts)
            entries.append((f"images/{name}", colour))
        photos_by_class.append(entries)

    ids = rng.permutation(9_000_000)[: args.labeled + args.unlabeled] + 1_000_000
    labeled = make_rows(rng, args.labeled, True, photos_by_class, ids, 0)
    unlabeled = make_rows(rng, args.unlabeled, False, photos_by_class, ids, args.labeled)
    columns = ["product_id", "description", "image_url", "label", "yes_count", "no_count", "category", "seller_verified"]
    pd.DataFrame(labeled)[columns].to_csv(os.path.join(out, "listings.tsv"), sep="\t", index=False)
    pd.DataFrame(unlabeled)[columns].to_csv(os.path.join(out, "test.tsv"), sep="\t", index=False)
    # The pattern behind each row, for analysis only (kspam never reads it).
    pd.DataFrame(labeled + unlabeled)[["product_id", "_pattern"]].rename(columns={"_pattern": "pattern"}).to_csv(
        os.path.join(out, "patterns.tsv"), sep="\t", index=False)
    spam = sum(1 for r in labeled if r["label"] == 1)
    print(f"{len(labeled)} labeled rows ({spam} spam), {len(unlabeled)} unlabeled rows, "
          f"{len(os.listdir(os.path.join(out, 'images')))} photos in {out}")


if __name__ == "__main__":
    main()
