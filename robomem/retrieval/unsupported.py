"""Questions outside what robomem perceives, recognised before any parsing, each with the reason
given back in the ``unsupported`` answer. robomem stores objects (label, position, room, the
receptacle they are on, when seen) and the robot's own track; it does not perceive materials,
the colours of walls/floors, what things are for, device or door states, text, people, or hold
opinions."""
from __future__ import annotations

import re
from typing import Optional

_RULES: list[tuple[str, str]] = [
    (r"^where (?:can|could|should|do|would|might) (?:i|we|you|one) (?!find\b|see\b|locate\b|spot\b|look\b|search\b)[a-z]+|"
     r"\bwhat (?:can|should|could|do) (?:i|we|you|one) use\b|\bwhat can be used\b|"
     r"\b(?:an?|some|any) (?:object|thing|something|item) (?:to|for|that can|which can|i can use)\b",
     "robomem does not know what things are for (functional questions)"),
    (r"\b(?:behind|in front of|to the (?:left|right)|left of|right of|above|below|beneath|underneath|under|between|"
     r"opposite|across from|facing)\b",
     "robomem answers on/in/near, not finer spatial relations (behind, above, under, left of, between)"),
    (r"\b(?:open or closed|closed or open|on or off|off or on|full or empty|empty or full)\b|"
     r"\b(?:is|are) (?:open|closed|locked|unlocked|on|off|full|empty)$",
     "robomem does not perceive device or door states (on/off, open/closed)"),
    (r"\bis there (?:enough )?(?:room|space)\b|\benough (?:room|space)\b|\b(?:can|could|would|will) [a-z ]*\bfit\b|"
     r"\bnatural light\b",
     "robomem does not reason about free space or light"),
    (r"\b(?:made (?:of|from|out of)|materials?|fabrics?|wooden|metallic|plastic or|leather|ceramic|texture|"
     r"what (?:kind|type) of (?:wood|metal|fabric|stone))\b",
     "robomem does not perceive what things are made of (materials)"),
    (r"\b(?:colou?rs?|painted|paint|shade|wallpaper)\b.*\b(?:walls?|ceilings?|floors?|carpet|rug|doors?|curtains?|"
     r"blinds|tiles?|cabinets?|countertop)\b|\b(?:walls?|ceilings?|floors?|carpet|doors?|curtains?|tiles?)\b.*\bcolou?r",
     "robomem does not perceive the colours of walls, floors, doors or ceilings"),
    (r"^(?:what|which) colou?r\b|\bwhat is the colou?r\b|\bcolou?r (?:is|are|of)\b|\bwhat colou?rs?\b",
     "robomem uses colours only to tell objects apart; it does not answer colour questions"),
    (r"\b(?:used for|use (?:the|a|an|it|this|that)|purpose|what (?:does|do) (?:the |a |an |this |that )?[a-z ]+ do$|"
     r"how (?:do|does|can|should) (?:i|you|one|we) (?:use|turn|switch|operate|open|close|work|clean|fix|cook|make|charge)|"
     r"what is [a-z ]+ for$|what are [a-z ]+ for$|what (?:kind|type|brand|model|make) of|brand|manufacturer|"
     r"how (?:does|do) (?:the |a |an )?[a-z ]+ work|function of)\b",
     "robomem does not know what things are for or how they work"),
    (r"\b(?:do you (?:like|think|prefer|love|hate|feel|enjoy)|favou?rite|beautiful|pretty|ugly|nice looking|cozy|cosy|"
     r"comfortable|messy|tidy|stylish|modern|in your opinion|should i|would you|recommend|better|best|worst|"
     r"look good|looks good|dirty|clean enough|is it worth|worth it|decorat)\b",
     "robomem does not hold opinions or judge looks"),
    (r"\b(?:is|are) (?:the |a |an |any )?[a-z ]*(?:lights?|lamps?|tv|television|stove|oven|fan|heater|faucet|tap|"
     r"computer|laptop|screen|monitor|radio|ac|air conditioner|dishwasher|washing machine|door|doors|window|windows|"
     r"fridge|refrigerator|drawer|drawers|cabinet|oven|microwave)s? (?:on|off|open|opened|closed|shut|locked|unlocked|"
     r"running|plugged in|charging|working|broken|empty|full)\b|\bturned (?:on|off)\b|\bswitched (?:on|off)\b|"
     r"\bleft (?:it |them )?(?:on|open)$|\bleave (?:the )?[a-z ]+ (?:on|open)$",
     "robomem does not perceive device or door states (on/off, open/closed)"),
    (r"\b(?:temperature|weather|raining|humid|how hot|how cold|what time is it|what day is it|today's date|battery)\b",
     "robomem does not perceive temperature, weather or the current time"),
    (r"\b(?:what does (?:the |a |an )?[a-z ]* ?(?:say|read)|written|title of|what is the title|text on|"
     r"words on|label say|sign say|what time does the clock|what number|phone number|read the)\b",
     "robomem does not read text"),
    (r"^(?:who|whose)\b|\b(?:anyone|anybody|someone|somebody|people|person|my (?:wife|husband|son|daughter|mom|dad|kids?|"
     r"partner|roommate)|is (?:the )?(?:baby|child) (?:asleep|awake))\b",
     "robomem does not identify people"),
    (r"^(?:why|how come)\b",
     "robomem does not explain causes"),
    (r"\b(?:how (?:big|tall|wide|long is|long are|heavy|high|deep|large|small|old|much does)|weigh|weight|dimensions?|"
     r"how far|distance between|size of|what size|shape|how many (?:rooms|floors|windows|doors|people|stairs|steps))\b",
     "robomem does not measure sizes, weights, shapes or distances between objects"),
    (r"\b(?:expired|fresh|ripe|rotten|safe to|edible|can i eat|can i drink|is (?:the |it )?[a-z ]*\b(?:hot|cold|wet|dry|"
     r"sharp|broken|cracked|new|old|expensive|cheap))\b",
     "robomem does not perceive the condition of things"),
    (r"\b(?:how much (?:does|did|is|are)|price|cost|buy|order|sell)\b",
     "robomem does not know prices"),
    (r"\b(?:am i|are you) (?:in|at)\b.*\bnow\b|\bwhat room (?:am i|are you) in\b",
     "robomem does not know where the robot is right now (only its stored past track)"),
    (r"\b(?:smell|sound|noise|hear|loud|quiet)\b",
     "robomem does not perceive smells or sounds"),
]
_COMPILED = [(re.compile(p), r) for p, r in _RULES]


def unsupported_reason(normalised: str) -> Optional[str]:
    """The reason a (normalised, lower-case) question is outside robomem's perception, or None."""
    for rx, reason in _COMPILED:
        if rx.search(normalised):
            return reason
    return None
