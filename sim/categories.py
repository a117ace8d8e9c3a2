"""The fixed category vocabulary of simulated scenes: what each category is, its default size,
colour, shape and where it may be placed. One table, so ids and names stay stable across runs."""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from sim.errors import UnknownCategoryError


@dataclass(frozen=True)
class CategoryInfo:
    """Static facts about one category.

    ``kind``: "structure" (walls, floors), "furniture" (stands on the floor, never moves, may offer
    receptacle surfaces) or "object" (small, rests on a receptacle, may move between sessions).
    ``shape``: how a box-sized instance is built ("box", "cylinder", "table", "shelf", "sofa",
    "chair", "bed", "cabinet" (solid), "open_cabinet" (hollow, open front, one inner board)). ``size``: default (x, y, z) extents in metres; furniture fronts face
    local +x. ``surfaces``: receptacle names the furniture offers ("top", "seat", "shelf").
    ``receptacles``: for small objects, the furniture categories they plausibly rest on.
    """

    name: str
    kind: str
    color: tuple[int, int, int]
    size: tuple[float, float, float] = (0.5, 0.5, 0.5)
    shape: str = "box"
    receptacles: tuple[str, ...] = ()


def _f(name, color, size, shape="cabinet"):
    return CategoryInfo(name, "furniture", color, size, shape)


def _o(name, color, size, receptacles, shape="box"):
    return CategoryInfo(name, "object", color, size, shape, tuple(receptacles))


_TABLES = ("table", "dining_table", "coffee_table", "desk", "kitchen_table")
_TOPS = ("counter", "kitchen_island", "sideboard", "console_table", "nightstand", "dresser", "tv_stand")

_ALL = [
    CategoryInfo("wall", "structure", (205, 200, 190)),
    CategoryInfo("floor", "structure", (150, 120, 90)),
    CategoryInfo("ceiling", "structure", (240, 240, 235)),
    CategoryInfo("door", "structure", (120, 80, 50)),
    # furniture
    _f("table", (140, 100, 60), (1.2, 0.8, 0.75), "table"),
    _f("dining_table", (120, 85, 55), (1.6, 0.9, 0.75), "table"),
    _f("kitchen_table", (170, 130, 90), (1.2, 0.8, 0.75), "table"),
    _f("coffee_table", (100, 70, 45), (1.0, 0.6, 0.42), "table"),
    _f("desk", (160, 140, 110), (0.7, 1.4, 0.75), "table"),
    _f("counter", (200, 195, 185), (0.6, 2.0, 0.9)),
    _f("kitchen_island", (190, 185, 175), (0.9, 1.6, 0.9)),
    _f("sideboard", (110, 80, 60), (0.45, 1.6, 0.85)),
    _f("console_table", (90, 60, 40), (0.35, 1.1, 0.8), "table"),
    _f("nightstand", (150, 110, 80), (0.4, 0.45, 0.55)),
    _f("dresser", (130, 95, 70), (0.5, 1.2, 0.85)),
    _f("tv_stand", (60, 60, 65), (0.45, 1.5, 0.5)),
    _f("bookshelf", (125, 90, 60), (0.35, 1.0, 1.8), "shelf"),
    _f("shelf", (200, 180, 150), (0.3, 0.9, 1.2), "shelf"),
    _f("shoe_rack", (80, 70, 60), (0.35, 0.9, 0.6), "shelf"),
    _f("wardrobe", (180, 160, 140), (0.6, 1.6, 2.0), "box"),
    _f("bed", (90, 110, 170), (2.0, 1.6, 0.55), "bed"),
    _f("sofa", (70, 90, 120), (0.9, 2.0, 0.85), "sofa"),
    _f("armchair", (120, 70, 70), (0.85, 0.85, 0.85), "sofa"),
    _f("chair", (150, 120, 80), (0.5, 0.5, 0.9), "chair"),
    _f("office_chair", (40, 40, 45), (0.6, 0.6, 1.0), "chair"),
    _f("bench", (130, 110, 90), (0.4, 1.2, 0.45), "table"),
    _f("fridge", (230, 230, 235), (0.7, 0.7, 1.8), "box"),
    _f("stove", (50, 50, 50), (0.6, 0.6, 0.9)),
    _f("sink_cabinet", (220, 220, 225), (0.5, 0.8, 0.85)),
    _f("toilet", (245, 245, 245), (0.7, 0.4, 0.75), "box"),
    _f("bathtub", (240, 240, 250), (0.75, 1.7, 0.55)),
    _f("washing_machine", (235, 235, 240), (0.6, 0.6, 0.85)),
    _f("tv", (20, 20, 25), (0.1, 1.2, 0.7), "box"),
    _f("floor_lamp", (230, 210, 150), (0.35, 0.35, 1.6), "cylinder"),
    _f("plant_pot", (60, 130, 60), (0.45, 0.45, 1.0), "cylinder"),
    # small objects
    _o("mug", (200, 40, 40), (0.09, 0.09, 0.10), ("counter", "kitchen_island", "desk", *_TABLES, "sideboard", "nightstand"), "cylinder"),
    _o("cup", (40, 120, 200), (0.08, 0.08, 0.10), ("counter", "kitchen_island", "desk", *_TABLES), "cylinder"),
    _o("bowl", (230, 200, 60), (0.16, 0.16, 0.07), ("counter", "kitchen_island", "dining_table", "kitchen_table", "table"), "cylinder"),
    _o("plate", (245, 245, 240), (0.25, 0.25, 0.03), ("counter", "kitchen_island", "dining_table", "kitchen_table", "sideboard"), "cylinder"),
    _o("bottle", (30, 150, 80), (0.08, 0.08, 0.28), ("counter", "kitchen_island", "dining_table", "kitchen_table", "desk", "nightstand"), "cylinder"),
    _o("fruit_bowl", (240, 140, 30), (0.28, 0.28, 0.12), ("counter", "kitchen_island", "dining_table", "kitchen_table", "coffee_table"), "cylinder"),
    _o("keys", (200, 190, 60), (0.08, 0.05, 0.02), ("console_table", "shoe_rack", "nightstand", "counter", "coffee_table", "desk", "sideboard")),
    _o("wallet", (70, 40, 25), (0.11, 0.09, 0.025), ("console_table", "nightstand", "desk", "dresser", "counter")),
    _o("phone", (25, 25, 30), (0.16, 0.08, 0.01), ("nightstand", "desk", "coffee_table", "sofa", "bed", "counter", "console_table")),
    _o("glasses", (30, 30, 30), (0.14, 0.05, 0.04), ("nightstand", "desk", "coffee_table", "bookshelf", "dresser")),
    _o("book", (160, 40, 90), (0.16, 0.23, 0.04), ("bookshelf", "shelf", "nightstand", "desk", "coffee_table", "sofa", "bed")),
    _o("notebook", (40, 160, 160), (0.15, 0.21, 0.015), ("desk", "table", "coffee_table", "nightstand", "bookshelf")),
    _o("remote", (35, 35, 40), (0.05, 0.18, 0.025), ("coffee_table", "tv_stand", "sofa", "armchair", "sideboard")),
    _o("laptop", (150, 150, 160), (0.33, 0.23, 0.025), ("desk", "table", "dining_table", "kitchen_table", "coffee_table", "bed", "sofa")),
    _o("headphones", (20, 20, 120), (0.18, 0.16, 0.08), ("desk", "nightstand", "sofa", "bed", "shelf")),
    _o("plant", (40, 140, 50), (0.18, 0.18, 0.35), ("bookshelf", "shelf", "sideboard", "console_table", "desk", "tv_stand", "counter", "dining_table"), "cylinder"),
    _o("vase", (90, 160, 210), (0.12, 0.12, 0.28), ("sideboard", "console_table", "dining_table", "bookshelf", "shelf", "tv_stand"), "cylinder"),
    _o("candle", (250, 240, 210), (0.07, 0.07, 0.12), ("sideboard", "dining_table", "coffee_table", "nightstand", "shelf"), "cylinder"),
    _o("clock", (210, 210, 200), (0.1, 0.2, 0.2), ("nightstand", "bookshelf", "shelf", "sideboard", "desk")),
    _o("bag", (140, 60, 30), (0.3, 0.15, 0.3), ("bench", "chair", "bed", "sofa", "armchair", "console_table", "shoe_rack")),
    _o("backpack", (30, 80, 40), (0.3, 0.2, 0.42), ("bench", "chair", "office_chair", "bed", "sofa")),
    _o("towel", (250, 250, 255), (0.3, 0.2, 0.05), ("sink_cabinet", "bathtub", "bed", "chair", "shelf")),
    _o("toothbrush", (80, 200, 220), (0.19, 0.03, 0.03), ("sink_cabinet",)),
    _o("soap", (250, 200, 220), (0.09, 0.06, 0.03), ("sink_cabinet", "bathtub")),
    _o("pillow", (230, 220, 170), (0.5, 0.35, 0.12), ("bed", "sofa", "armchair")),
    _o("toy", (250, 60, 160), (0.15, 0.15, 0.15), ("coffee_table", "bed", "shelf", "sofa", "bench")),
    _o("umbrella", (40, 40, 120), (0.9, 0.08, 0.08), ("shoe_rack", "bench", "console_table")),
    _o("pen", (10, 10, 160), (0.14, 0.012, 0.012), ("desk", "nightstand", "table", "kitchen_table")),
    _o("cutting_board", (200, 160, 110), (0.4, 0.25, 0.02), ("counter", "kitchen_island")),
    _o("pan", (60, 60, 60), (0.28, 0.28, 0.06), ("stove", "counter", "kitchen_island"), "cylinder"),
    # Added for the realistic house styles (appended, so older category indices stay the same).
    _f("kitchen_cabinet", (215, 205, 190), (0.4, 1.0, 0.9), "open_cabinet"),
    _f("open_cabinet", (170, 140, 110), (0.4, 0.9, 1.2), "open_cabinet"),
    _f("wall_art", (180, 60, 60), (0.04, 0.8, 0.6), "box"),
    _f("trash_bin", (90, 90, 95), (0.35, 0.35, 0.6), "cylinder"),
    _f("laundry_basket", (200, 180, 140), (0.45, 0.6, 0.5), "box"),
    _o("apple", (200, 30, 30), (0.08, 0.08, 0.08), ("fridge", "counter", "kitchen_cabinet", "kitchen_table", "dining_table"), "cylinder"),
    _o("bread", (210, 160, 90), (0.3, 0.12, 0.1), ("counter", "kitchen_cabinet", "kitchen_table", "kitchen_island")),
    _o("cereal_box", (230, 180, 40), (0.08, 0.2, 0.3), ("kitchen_cabinet", "counter", "open_cabinet")),
    _o("milk", (245, 245, 250), (0.07, 0.07, 0.25), ("fridge",)),
    _o("cheese", (250, 220, 90), (0.12, 0.08, 0.05), ("fridge",)),
    _o("fork", (190, 190, 200), (0.19, 0.025, 0.015), ("counter", "dining_table", "kitchen_table", "kitchen_cabinet")),
    _o("knife", (170, 170, 180), (0.22, 0.02, 0.015), ("counter", "kitchen_island", "kitchen_table", "kitchen_cabinet")),
    _o("spoon", (200, 200, 210), (0.17, 0.035, 0.015), ("counter", "dining_table", "kitchen_table", "kitchen_cabinet")),
    _o("shirt", (60, 100, 180), (0.3, 0.25, 0.04), ("bed", "chair", "dresser", "wardrobe", "open_cabinet", "laundry_basket")),
    _o("jeans", (40, 60, 110), (0.35, 0.25, 0.05), ("bed", "chair", "dresser", "open_cabinet", "laundry_basket")),
    _o("sock", (240, 240, 240), (0.12, 0.08, 0.03), ("bed", "dresser", "laundry_basket", "open_cabinet")),
    _o("succulent", (70, 150, 80), (0.1, 0.1, 0.15), ("open_cabinet", "shelf", "bookshelf", "nightstand", "desk", "counter"), "cylinder"),
]

#: Category name -> info. Insertion order is stable; ``category_index`` numbers follow it.
CATEGORIES: dict[str, CategoryInfo] = {c.name: c for c in _ALL}

#: Category name -> semantic class id (1-based; 0 = none) used by semantic images.
CATEGORY_INDEX: dict[str, int] = {name: i + 1 for i, name in enumerate(CATEGORIES)}

#: Room types the scene model accepts.
ROOM_TYPES = (
    "kitchen", "living_room", "dining_room", "bedroom", "bathroom", "office", "hallway",
    "laundry", "entrance", "playroom", "storage", "room",
)

FURNITURE_SURFACES = {"table": ("top",), "cabinet": ("top",), "shelf": ("top", "shelf"),
                      "sofa": ("seat",), "chair": ("seat",), "bed": ("top",),
                      "open_cabinet": ("top", "shelf"), "fridge": ("top", "shelf")}

#: Furniture with a door: category -> the hollow shape built when the instance has a door state.
#: Without a state (``None``) such furniture stays the solid box older scenes were made of.
DOOR_SHAPES = {"fridge": "fridge"}
#: Door states furniture in :data:`DOOR_SHAPES` may take.
DOOR_STATES = ("open", "closed")


def shape_for_state(category: str, state) -> str:
    """Shape actually built for an instance of ``category`` with door ``state``."""
    if state is not None and category in DOOR_SHAPES:
        return DOOR_SHAPES[category]
    return category_info(category).shape


def category_info(name: str) -> CategoryInfo:
    """Look up a category; unknown names raise :class:`UnknownCategoryError` naming it."""
    try:
        return CATEGORIES[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), CATEGORIES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownCategoryError(f"unknown category {name!r}{hint} (see sim.categories.CATEGORIES)") from None


def check_room_type(room_type: str) -> str:
    if room_type not in ROOM_TYPES:
        close = difflib.get_close_matches(str(room_type), ROOM_TYPES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownCategoryError(f"unknown room type {room_type!r}{hint}; expected one of {', '.join(ROOM_TYPES)}")
    return room_type


def surfaces_of(category: str, state=None) -> tuple[str, ...]:
    """Receptacle surface kinds a furniture category offers (empty for non-furniture); ``state`` is
    the instance's door state (a fridge with one is hollow and has shelves)."""
    info = category_info(category)
    if info.kind != "furniture":
        return ()
    return FURNITURE_SURFACES.get(shape_for_state(category, state), ())


#: Per-instance size factor range of generated small objects (one factor for the footprint, one for
#: the height, so round things stay round).
INSTANCE_SCALE = (0.85, 1.15)
#: Per-channel colour jitter (0..255 units) of generated small objects.
INSTANCE_COLOR_JITTER = 40


def instance_appearance(name: str, rng) -> tuple[tuple[float, float, float], tuple[int, int, int]]:
    """A seeded per-instance ``(size, colour)`` for a small object of category ``name``.

    Real households rarely hold perfectly identical objects: each instance gets its category's size
    scaled by factors drawn from :data:`INSTANCE_SCALE` (footprint and height separately) and its
    category colour jittered per channel by up to :data:`INSTANCE_COLOR_JITTER`. Two instances may
    still look alike; nothing forces uniqueness. Identical ``rng`` states give identical results."""
    info = category_info(name)
    lo, hi = INSTANCE_SCALE
    fxy, fz = rng.uniform(lo, hi, 2)
    size = (float(info.size[0] * fxy), float(info.size[1] * fxy), float(info.size[2] * fz))
    jit = rng.integers(-INSTANCE_COLOR_JITTER, INSTANCE_COLOR_JITTER + 1, 3)
    color = tuple(int(c) for c in np.clip(np.asarray(info.color) + jit, 0, 255))
    return size, color
