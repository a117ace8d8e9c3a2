"""Natural language → typed query, deterministic and offline, no store needed.

``parse(text, now_ns=None, start_ns=None)``: the question is normalised (case, contractions,
politeness), checked against what robomem cannot perceive (materials, wall colours, what things
are for, opinions, device states, text, people...; → :class:`Unsupported` with the reason), its
time phrase is read relative to ``now_ns`` (the store's clock when called through ``ask``; the
wall clock otherwise; see :mod:`robomem.retrieval.timeparse`), then one of a few dozen patterns
picks the query type and the object phrase is split into label + attributes (colour, size, room,
the receptacle it is on). Labels stay as said ("cup"); the engine matches them to stored labels
semantically. A question matching no pattern is :class:`Unsupported` ("not a question robomem
understands"), never a guess."""
from __future__ import annotations

import re
import time as _time
from typing import Optional, Union

from robomem.retrieval import timeparse
from robomem.retrieval.errors import InvalidQuestionError
from robomem.retrieval.queries import (
    COLORS, MAX_LABEL_CHARS, MAX_TEXT_CHARS, Changes, Contents, Count, Exists, History, LastVisit, Near, Query,
    Relation, SeenBetween, Target, Unsupported, WhenSeen, WhereIs, WhereWasI, WhichRoom)
from robomem.retrieval.unsupported import unsupported_reason

NS = 1_000_000_000

ROOM_WORDS = ("master bedroom", "guest bedroom", "living room", "sitting room", "family room", "dining room",
              "laundry room", "utility room", "home office", "kids room", "kitchen", "lounge", "bedroom",
              "bathroom", "restroom", "washroom", "office", "study", "hallway", "hall", "corridor", "entrance",
              "entryway", "foyer", "laundry", "garage", "basement", "attic", "nursery", "playroom", "pantry",
              "balcony", "patio", "porch", "den", "closet", "toilet room")
_COLOR_SYN = {"grey": "gray", "violet": "purple", "beige": "brown", "tan": "brown", "golden": "yellow",
              "silver": "gray", "navy": "blue", "crimson": "red", "maroon": "red"}
_SIZE_SYN = {"big": "large", "large": "large", "huge": "large", "bigger": "large", "biggest": "large",
             "largest": "large", "larger": "large", "small": "small", "little": "small", "tiny": "small",
             "smaller": "small", "smallest": "small", "mini": "small"}
_DET = r"(?:the|a|an|my|our|your|his|her|their|some|any|this|that|these|those|its)"
_PREFIXES = (r"^(?:(?:hey|hi|hello|ok|okay|so|excuse me)\b)?\s*,?\s*(?:(?:robot|buddy)\b)?\s*,?\s*",
             r"^(?:please|pls|quick question|question)\b\s*,?\s*",
             r"^(?:can|could|would|will) you (?:please )?(?:tell me|remind me|check|look up|let me know|say)\s*",
             r"^(?:do|did) you (?:know|remember|recall|have any idea)\s*",
             r"^(?:i (?:want|need|would like|'d like) to know|i wonder|i'm wondering|i am wondering|tell me|remind me)\b\s*",
             r"^(?:any idea|do you have any idea)\b\s*")


def _decode(text: Union[str, bytes]) -> str:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidQuestionError(f"question is not valid UTF-8 (byte {exc.start})") from None
    if not isinstance(text, str):
        raise InvalidQuestionError(f"question must be text, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuestionError("question contains lone surrogates (not valid Unicode)") from None
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidQuestionError(f"question is longer than {MAX_TEXT_CHARS} characters")
    if not text.strip():
        raise InvalidQuestionError("question is empty")
    return text


def normalise(text: str) -> str:
    s = text.lower().replace("’", "'").replace("`", "'")
    s = re.sub(r"[\x00-\x1f]", " ", s)
    for a, b in (("where's", "where is"), ("what's", "what is"), ("who's", "who is"), ("how's", "how is"),
                 ("when's", "when is"), ("that's", "that is"), ("there's", "there is"), ("i've", "i have"),
                 ("i'd", "i would"), ("i'm", "i am"), ("can't", "cannot"), ("didn't", "did not"),
                 ("haven't", "have not"), ("isn't", "is not"), ("aren't", "are not"), ("wasn't", "was not"),
                 ("don't", "do not"), ("doesn't", "does not"), ("it's", "it is"), ("where'd", "where did")):
        s = s.replace(a, b)
    s = re.sub(r"[?!;]+|(?<!\d)\.|\.(?!\d)", " ", s)
    s = re.sub(r"\s*,\s*", ", ", s)
    s = " ".join(s.split()).strip(" ,")
    for p in _PREFIXES:
        s = re.sub(p, "", s).strip(" ,")
    s = re.sub(r"\b(?:for me|please|again|exactly|actually|currently|by any chance)\b", " ", s)
    return " ".join(s.split()).strip(" ,")


def _is_room(phrase: str) -> Optional[str]:
    """The room a phrase names ("the kitchen"; "the bedroom with the desk" is kept whole: the
    engine picks the bedroom that has a desk), or None."""
    p = re.sub(rf"^{_DET}\s+", "", phrase.strip())
    for w in ROOM_WORDS:
        if p == w or p == w + "s":
            return w
        m = re.match(rf"^{w} with (?:{_DET}\s+)?([a-z][a-z ]*)$", p)
        if m:
            return f"{w} with the {m.group(1).strip()}"
        if p.startswith(w + " that ") or p.startswith(w + " with "):
            return w
    return None


def target(phrase: str, at_ns: Optional[int] = None) -> Target:
    """Split an object phrase into label + attributes ("the red mug that is on the desk")."""
    p = phrase.strip(" ,")
    for _ in range(2):
        p = re.sub(r"(?:\s*[,:]\s*|\s+)(?:now|right now|located|kept|placed|stored|left|at the moment|these days|"
                   r"lying around|lying|sitting|be|go|end up|ended up|gone|at|today|in)$", "", p)
    on = room = None
    m = re.search(rf"\s+(?:that|which|who)?\s*(?:is|are|was|were|used to be|has been|had been)?\s*"
                  rf"(?P<prep>on top of|on|in|inside|at|under|from|by)\s+(?:{_DET}\s+)?(?P<place>.+)$", p)
    if m and m.start() > 0:
        place = m.group("place").strip()
        r = _is_room(place)
        if r is not None:
            room = r
        elif m.group("prep") not in ("from", "by", "under"):
            on = place
        p = p[:m.start()]
    p = re.sub(rf"^(?:{_DET}\s+)+", "", p.strip())
    p = re.sub(r"^(?:one of (?:the |my )?|other |same |piece of |set of |pair of )", "", p)
    words = p.split()
    color = size = None
    while words and (words[0] in COLORS or words[0] in _COLOR_SYN or words[0] in _SIZE_SYN or words[0] in ("colored", "coloured")):
        w = words.pop(0)
        if w in _SIZE_SYN:
            size = _SIZE_SYN[w]
        elif w in COLORS or w in _COLOR_SYN:
            color = _COLOR_SYN.get(w, w)
    label = " ".join(words).strip(" ,'") or phrase.strip()
    label = re.sub(r"'s$", "", label)[:MAX_LABEL_CHARS]
    on_t = None
    if on is not None:
        on = re.sub(r"\s+(?:earlier|before|previously|then|last)$", "", on)
        on_t = target(on[:MAX_LABEL_CHARS])
    return Target(label=label, color=color, size=size, room=room, on=on_t,
                  at_ns=at_ns if (on_t or room) and at_ns is not None else None)


def _split_ref_time(s: str, now: int, start_ns) -> tuple[str, timeparse.TimeSpec, Optional[int]]:
    """The time inside a "that was/were on ..." clause describes the object ("the mug that was on
    the desk yesterday morning"), not the question — unless the question itself is about the past
    ("where was ...") and names no other time. A "that is/are" clause describes it now."""
    m = re.search(r"\bthat (?P<verb>was|were|used to be)\b(?P<ref>[^:,]*)", s)
    ref_t = None
    if m:
        ref_text, ref_ts = timeparse.extract(m.group("ref"), now, start_ns)
        if not ref_ts.empty and ref_ts.at_ns is not None:
            rest = s[:m.start("ref")] + " " + ref_text + s[m.end("ref"):]
            rest_text, rest_ts = timeparse.extract(rest, now, start_ns)
            past_q = re.match(r"^(?:where (?:was|were|had)|what (?:was|were))\b", s) is not None
            if past_q and rest_ts.empty:
                return " ".join(rest_text.split()), ref_ts, ref_ts.at_ns
            return " ".join(rest_text.split()), rest_ts, ref_ts.at_ns
    s, ts = timeparse.extract(s, now, start_ns)
    return " ".join(s.split()), ts, ref_t


def _resolve_pronoun(s: str) -> str:
    """"the mug that was on the desk: where is it now" -> "where is the mug that was on the desk now"."""
    m = re.match(r"^(?P<ref>.+?)\s*[:,]\s*(?P<q>(?:where|which|what|in which|when|is|are|how)\b.*)$", s)
    if not m or not re.search(r"\b(?:it|they|them)\b", m.group("q")):
        return s
    return re.sub(r"\b(?:it|they|them)\b", m.group("ref"), m.group("q"), count=1)


_OBJ = r"(?P<obj>.+?)"


def parse(text: Union[str, bytes], now_ns: Optional[int] = None, start_ns: Optional[int] = None) -> Query:
    """The typed query a question asks (see the module doc). ``now_ns``: the clock time phrases
    are relative to (default: the wall clock); ``start_ns``: the first stamp of the store ("day 1")."""
    raw = _decode(text)
    now = int(now_ns) if now_ns is not None else _time.time_ns()
    s = normalise(raw)
    if not s:
        raise InvalidQuestionError("question has no words")
    try:
        stripped, ts, ref_t = _split_ref_time(s, now, start_ns)
    except timeparse.TimePhraseError as exc:
        return Unsupported(raw, f"the time phrase is not understood ({exc})")
    reason = unsupported_reason(stripped)     # after the time phrase is out: "between 9:00 and 11:00"
    if reason:
        return Unsupported(raw[:MAX_TEXT_CHARS], reason)
    s = stripped
    s = _resolve_pronoun(s.strip(" ,:"))
    q = _match(s, ts, ref_t, now)
    if q is None:
        return Unsupported(raw, "not a question robomem understands (it answers where/when/what-on/"
                                "what-changed/how-many/which-room/near questions about objects it has seen, "
                                "and about its own past positions)")
    return q


def _at(ts: timeparse.TimeSpec) -> Optional[int]:
    return ts.at_ns if ts.at_ns is not None else ts.t1_ns


def _range(ts: timeparse.TimeSpec, now: int, default_back_ns: int = 86_400 * NS) -> tuple[int, Optional[int]]:
    if ts.t0_ns is not None:
        return ts.t0_ns, ts.t1_ns
    if ts.at_ns is not None:
        return max(0, ts.at_ns - (ts.span_ns or 86_400 * NS)), ts.at_ns
    return max(0, now - default_back_ns), None


def _scope(phrase: Optional[str]):
    """("room", name) or ("receptacle", Target) or (None, None)."""
    if not phrase:
        return None, None
    r = _is_room(phrase)
    if r is not None:
        return "room", r
    return "receptacle", target(phrase)


def _match(s: str, ts: timeparse.TimeSpec, ref_t: Optional[int], now: int) -> Optional[Query]:  # noqa: C901
    at = _at(ts)
    sess = ts.session
    # ---------------------------------------------------------------- the robot itself
    m = re.match(r"^where (?:was i|were you|was the robot|have i been|had i been|did i go|did you go|was robot)\b(?P<rest>.*)$", s)
    if m:
        return WhereWasI(at_ns=at if at is not None else now)
    m = re.match(r"^when (?:was i|were you|did i|did you|have i|have you)(?: last| most recently| previously)? "
                 r"(?:been )?(?:last )?(?:in|at|inside|visit|visited|go to|went to|gone to|enter|entered|be in|pass through|passed through) "
                 r"(?P<room>.+)$", s)
    if m and _is_room(m.group("room")):
        return LastVisit(room=_is_room(m.group("room")))
    m = re.match(r"^how (?:long|much time) (?:was i|were you|did i|did you|have i|have you)(?: last)? "
                 r"(?:stay|stayed|spend|spent|remain|be|been|stay)?(?: time)? ?(?:in|inside|at) (?P<room>.+?)(?: for| last time| the last time)?$", s)
    if m and _is_room(m.group("room")):
        return LastVisit(room=_is_room(m.group("room")), measure="duration")
    m = re.match(r"^(?:what|which (?:objects|things|items))(?: objects| things| items)? (?:did|have|had) (?:i|you) "
                 r"(?:see|seen|observe|observed|spot|spotted|notice|noticed|come across|pass)"
                 r"(?: in (?P<room>.+?))?(?: there)?$", s)
    if m:
        t0, t1 = _range(ts, now)
        room = _is_room(m.group("room") or "") if m.group("room") else None
        if m.group("room") and room is None:
            return None
        return SeenBetween(t0_ns=t0, t1_ns=t1, room=room)
    # ---------------------------------------------------------------- changes
    m = re.match(r"^(?:what|which (?:objects|things|items)|anything|has anything|have any things|did anything|"
                 r"has something|did something|were there any changes|are there any changes|any changes|what changes)"
                 r"(?: has| have| is| was| were| did| got)?(?: been)? ?(?:changed|change|changes|different|moved|move|"
                 r"been moved|new|rearranged|happened|gone missing|disappeared|appeared|taken away|added|removed)"
                 r"(?: (?P<prep>in|on|inside|at|around|to) (?P<scope>.+?))?(?: (?:compared|since|then))?$", s)
    if m:
        t0, t1 = _range(ts, now)
        kind, val = _scope(m.group("scope"))
        return Changes(t0_ns=t0, t1_ns=t1, room=val if kind == "room" else None,
                       receptacle=val if kind == "receptacle" else None)
    m = re.match(r"^(?:were|are|have|has|was|is) (?:there )?(?:been )?(?:any )?(?:changes?|differences?|moves?)"
                 r"(?: (?P<prep>in|on|inside|at|to) (?P<scope>.+?))?$", s)
    if m:
        t0, t1 = _range(ts, now)
        kind, val = _scope(m.group("scope"))
        return Changes(t0_ns=t0, t1_ns=t1, room=val if kind == "room" else None,
                       receptacle=val if kind == "receptacle" else None)
    # ---------------------------------------------------------------- counting
    m = re.match(r"^(?:how many|count(?: the| all the| all)?|number of|what is the number of|what number of) " + _OBJ +
                 r"(?: (?:are|were|is|do i have|do we have|have i seen|can you see|are there|were there|there are|"
                 r"there were|did i see|have you seen|can i find|are left|are lying|lie|sit))*"
                 r"(?: (?P<prep>in|on|inside|on top of|at) (?P<scope>.+?))?(?: (?:are there|there are|were there|is there|"
                 r"are|were|do i have|did i see|in total|altogether))*$", s)
    if m:
        obj = re.sub(r"\s+(?:are|were|is|there)$", "", m.group("obj"))
        kind, val = _scope(m.group("scope"))
        tgt = target(obj)
        return Count(label=_singular(tgt.label), room=val if kind == "room" else tgt.room,
                     receptacle=val if kind == "receptacle" else None, at_ns=at)
    # ---------------------------------------------------------------- nearest / near
    m = re.match(r"^(?:of all (?:the |my )?(?P<all>.+?)(?: in the house| i have| we have)?, )?(?:which|what) "
                 r"(?P<obj>.+?) (?:is|was|are|lies|sits) (?:the )?(?:nearest|closest)(?: to| from)? (?P<anchor>.+)$", s)
    if m:
        obj = m.group("obj")
        if obj in ("one", "of them") and m.group("all"):
            obj = m.group("all")
        obj_t = target(obj)
        return Near(anchor=target(m.group("anchor")), label=_singular(obj_t.label), nearest=True, at_ns=at)
    m = re.match(r"^(?:what|which (?:objects|things|items)|what (?:objects|things|items)|anything|is there anything|"
                 r"are there (?:any )?(?:objects|things))(?: is| are| was| were| lies| sits| can i find| do i have)? "
                 r"(?:near|next to|close to|beside|besides|by|around|nearby|adjacent to|in the vicinity of|"
                 r"within (?P<r>[\d.]+) ?(?:m|metres|meters|meter|metre) (?:of|from)) (?P<anchor>.+)$", s)
    if m:
        return Near(anchor=target(m.group("anchor")), radius_m=float(m.group("r") or 1.5), at_ns=at)
    m = re.match(r"^(?:which|what|are there (?:any )?|is there (?:an? |any )?)(?P<obj>[a-z ]+?) (?:is |are |was |were )?"
                 r"(?:near|next to|close to|beside|within (?P<r>[\d.]+) ?(?:m|metres|meters|meter|metre) (?:of|from)) "
                 r"(?P<anchor>.+)$", s)
    if m and not m.group("obj").strip().startswith(("the ", "my ", "is ", "are ", "was ", "were ")):
        return Near(anchor=target(m.group("anchor")), radius_m=float(m.group("r") or 1.5),
                    label=_singular(target(m.group("obj")).label), at_ns=at)
    # ---------------------------------------------------------------- which room
    m = (re.match(r"^(?:in )?(?:which|what) (?:room|part of the house)(?: of the house)? (?:is|are|was|were|has|did i leave|"
                  r"did i put|do i keep|can i find|will i find|would i find|should i look for|contains|holds|have i left) "
                  + _OBJ + r"(?: in| located in| kept in| at| left in| stored in| placed in)?$", s)
         or re.match(r"^(?:which|what) room (?:is|are) " + _OBJ + r" in$", s))
    if m:
        return WhichRoom(target=target(m.group("obj"), ref_t), at_ns=at)
    # ---------------------------------------------------------------- when seen
    m = (re.match(r"^when (?:did|have|had) (?:i|you|we)(?: (?P<w1>last|first|most recently|latest))? "
                  r"(?:see|seen|spot|spotted|notice|noticed|observe|observed|saw|lay eyes on|set eyes on) " + _OBJ +
                  r"(?P<w2> last| first| for the first time| for the last time| most recently)?$", s)
         or re.match(r"^when (?:was|were|is) " + _OBJ + r" (?P<w1>last|first|most recently)? ?(?:seen|spotted|observed|noticed)"
                     r"(?P<w2> last| first| for the first time)?$", s)
         or re.match(r"^(?:what|when) (?:is|was) the (?P<w1>last|first|latest|most recent|earliest) time (?:that )?"
                     r"(?:i|you|we) (?:saw|spotted|noticed|have seen|had seen|seen|observed) " + _OBJ + r"(?P<w2>)$", s)
         or re.match(r"^how long ago (?:did|have) (?:i|you) (?P<w1>last )?(?:see|seen|saw) " + _OBJ + r"(?P<w2> last)?$", s))
    if m:
        w = ((m.group("w1") or "") + (m.group("w2") or "")).strip()
        which = "first" if ("first" in w or "earliest" in w) else "last"
        return WhenSeen(target=target(m.group("obj"), ref_t), which=which)
    # ---------------------------------------------------------------- history
    m = (re.match(r"^(?:where (?:all |else )?(?:has|have|had) " + _OBJ + r" been(?: kept| placed| moved)?(?: over time| so far| before)?"
                  r"|(?:show|give|tell)(?: me)? (?:the )?(?:history|movements?|whereabouts|track|trail|past locations?|"
                  r"all (?:the )?places) (?:of|for) " + _OBJ.replace("obj", "obj2") +
                  r"|(?:the )?(?:history|movements?|past locations?|all (?:the )?places) of " + _OBJ.replace("obj", "obj3") +
                  r"|(?:how|where) (?:has|have|did) " + _OBJ.replace("obj", "obj4") + r" (?:moved|move|been moved|moved around|travel+ed)"
                  r"(?: around| over time)?)$", s))
    if m:
        return History(target=target(m.group("obj") or m.group("obj2") or m.group("obj3") or m.group("obj4"), ref_t))
    m = re.match(r"^(?:is there|are there|was there|were there) (?:anything|something|any objects?|any things?|stuff) "
                 r"(?:lying |left |placed )?(?P<prep>on|in|inside|on top of) (?P<rec>.+?)(?: (?:besides|apart from|other than|except) .+)?$", s)
    if m:
        kind, val = _scope(m.group("rec"))
        if kind == "room":
            return Contents(room=val, at_ns=at, session=sess)
        return Contents(receptacle=val, at_ns=at, session=sess)
    # ---------------------------------------------------------------- exists
    m = re.match(r"^(?:is there|are there|was there|were there|do (?:i|we) (?:have|own)|does the house have|"
                 r"have (?:i|you|we) (?:ever )?seen|did (?:i|you|we) (?:ever )?see|can you see|do you see|"
                 r"have you ever noticed|is anything like|do you know of) (?:(?P<det>any|some|anything like an?|an?|more than one|"
                 r"at least one) )?" + _OBJ + r"(?: (?:anywhere|in the house|around|at all|at home))?$", s)
    if m and (m.group("det") or m.group(0).startswith(("is there", "are there", "was there", "were there"))):
        tgt = target(m.group("obj"), ref_t)
        room = tgt.room
        tgt = Target(label=_singular(tgt.label), color=tgt.color, size=tgt.size, on=tgt.on, at_ns=tgt.at_ns)
        return Exists(target=tgt, room=room, at_ns=at)
    # ---------------------------------------------------------------- relation checks
    m = re.match(r"^(?:is|are|was|were) " + _OBJ + r" (?:still |currently |right now |now )?"
                 r"(?P<rel>on top of|on|in|inside|near|next to|close to|beside|by|at) (?P<other>.+?)(?: still| now| right now)?$", s)
    if m and not m.group("obj").startswith(("there ", "anything", "something")):
        tgt = target(m.group("obj"), ref_t)
        rel, other = m.group("rel"), m.group("other")
        room = _is_room(other)
        if rel in ("near", "next to", "close to", "beside", "by"):
            return Relation(target=tgt, relation="near", other=target(other), at_ns=at)
        if room is not None:
            return Relation(target=tgt, relation="in", room=room, at_ns=at)
        return Relation(target=tgt, relation="on", other=target(other), at_ns=at)
    # ---------------------------------------------------------------- contents
    m = re.match(r"^(?:what|which (?:objects|things|items)|what (?:objects|things|items|stuff)|list (?:everything|all (?:the )?"
                 r"(?:objects|things|items))|show me (?:what|everything)|tell me what|everything|anything)"
                 r"(?: is| are| was| were| do i have| do we have| did i leave| did i put| have i left| can i find| can you see|"
                 r" could i find| is there| are there| was there| were there| lies| lay| sits| sat| has been| have been| got| remains?)?"
                 r"(?: lying| sitting| placed| kept| stored| left| standing| resting| put)?"
                 r" (?P<prep>on top of|on|in|inside|at|upon) (?P<rec>.+?)(?: right now| now| at the moment)?$", s)
    if m:
        kind, val = _scope(m.group("rec"))
        if kind == "room":
            return Contents(room=val, at_ns=at, session=sess)
        return Contents(receptacle=val, at_ns=at, session=sess)
    # ---------------------------------------------------------------- where
    m = (re.match(r"^where (?:is|are|was|were|did|do|does|have|had|has|can|could|would|will|might|should|would i|might i)"
                  r"(?: (?:i|you|we|someone|somebody))?(?: last| most recently| previously| ever)?"
                  r"(?: (?:leave|left|put|place|placed|drop|dropped|set|keep|kept|see|seen|saw|store|stored|hide|hid|find|found|"
                  r"misplace|misplaced|stash|stashed|last see|last put|last leave|last saw|go|went|end up|ended up|"
                  r"look for|be|get|locate|spot|spotted|notice|noticed|hang|hung|lay|laid|throw|threw|park|parked))?(?: (?:find|see|get))?(?P<obj> .+)$", s)
         or re.match(r"^(?:find|locate|show me|look for|search for|fetch|get|bring me|go get|point me to|help me find|"
                     r"i (?:cannot|can not|could not|couldn't) find|i (?:lost|misplaced|have lost|have misplaced)|"
                     r"i am looking for|i am searching for|i need|have you seen|did you see|any sign of|has anyone seen|"
                     r"do you know where|where to find|where i (?:left|put))"
                     r" (?P<obj>.+?)(?: (?:is|are|was|were|went|ended up|might be|could be|would be|is located|are located))?$", s)
         or re.match(r"^(?P<obj>.+?)(?:,| -|:)? where (?:is it|are they|did it go|did they go|is that|was it|were they)$", s)
         or re.match(r"^where (?P<obj>(?:the|my|our|your|a|an) .+?) (?:is|are|was|were|went|ended up|has gone|have gone)$", s))
    if m:
        obj = m.group("obj").strip()
        obj = re.sub(r"^(?:i|you|we) (?:left|put|placed|kept|dropped) ", "", obj)
        obj = re.sub(r"^(?:i (?:have )?)?(?:lost|misplaced|cannot find|can not find|could not find) ", "", obj)
        obj = re.sub(r"\s+(?:(?:i|you|we) )?(?:left|put|placed|kept|dropped|went)$", "", obj)
        tgt = target(obj, ref_t)
        if ts.session is not None:
            return WhereIs(target=tgt, session=ts.session)
        return WhereIs(target=tgt, at_ns=at)
    return None


def _singular(label: str) -> str:
    if label.endswith(("glasses", "keys", "headphones", "scissors", "pants", "jeans", "trousers", "clothes")):
        return label
    if label.endswith("ies") and len(label) > 4:
        return label[:-3] + "y"
    if label.endswith(("ches", "shes", "xes", "sses")):
        return label[:-2]
    if label.endswith("s") and not label.endswith(("ss", "us", "glasses", "keys", "headphones", "scissors", "pants")):
        return label[:-1]
    return label
