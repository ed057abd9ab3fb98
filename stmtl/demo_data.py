"""Hypothetical data from templates, for the examples and the quick start: nothing to download.

Two kinds of rows:

* **assistant requests** (:func:`assistant_rows`): one sentence carries both an intent and its slots, as in SNIPS
  (``{"text", "label", "tokens", "tags"}``); four intents, seven slot types;
* **news-like sentences** (:func:`ner_rows`): person, location and organisation entities only
  (``{"tokens", "tags"}``), a separate corpus as NER data usually is.

:data:`UNSEEN` holds requests the generator never produces (new slot values and new sentence shapes) with their
expected answers, and :func:`check_predictions` compares a model's ``predict`` output with them: the quick start's
test of whether training worked.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

INTENT_TEMPLATES = {
    "BookRestaurant": [
        "book a table for {party} at {restaurant}",
        "reserve a table at {restaurant} for {party} people",
        "i need a table for {party} at {restaurant} {date}",
        "can you get us a table at {restaurant} {date}",
        "book {restaurant} for {party} {date}",
        "we are {party} and want to eat at {restaurant}",
        "is there a free table at {restaurant} {date}",
        "make a reservation at {restaurant} for {party}",
    ],
    "GetWeather": [
        "what's the weather in {city}",
        "will it rain in {city} {date}",
        "weather forecast for {city} {date}",
        "how hot is it in {city}",
        "is it going to be sunny in {city} {date}",
        "tell me the weather for {city}",
        "do i need an umbrella in {city} {date}",
        "what's the temperature in {city} {date}",
    ],
    "PlayMusic": [
        "play something by {artist}",
        "put on {artist} on {service}",
        "i want to hear {artist}",
        "play the latest album by {artist}",
        "can you play {artist} on {service}",
        "play some {artist}",
        "let me listen to {artist} on {service}",
        "start a playlist of {artist} songs",
    ],
    "SetAlarm": [
        "set an alarm for {time}",
        "wake me up at {time} {date}",
        "alarm at {time} please",
        "i need an alarm {date} at {time}",
        "set my alarm to {time}",
        "can you wake me at {time}",
        "please set an alarm {date} for {time}",
        "remind me to get up at {time} {date}",
    ],
}
"""Sentence templates by intent; ``{slot}`` marks a slot filled from :data:`SLOT_VALUES`."""

SLOT_VALUES = {
    "party": ["two", "three", "four", "six", "ten", "twelve", "2", "3", "4", "6", "7", "eight"],
    "restaurant": [
        "nobu", "the ivy", "chez panisse", "noma", "the fat duck", "le bernardin", "blue hill", "pizza express",
        "golden dragon", "sushi nakazawa", "taco bell", "the red lion", "mama mia", "el bulli", "wagamama",
        "the green kitchen", "silver spoon", "the hungry bear", "river cafe", "lucky star", "the old mill",
        "burger king", "peach garden", "the lemon tree", "corner bistro", "sunset grill", "royal palace",
        "harbor house", "copper kettle", "stone oven", "bamboo hut", "white horse", "black sheep", "jade dragon",
        "blue moon diner", "maple leaf",
    ],
    "city": [
        "paris", "new york", "tokyo", "lima", "cairo", "sydney", "rome", "mumbai", "cape town", "toronto", "madrid",
        "seoul", "buenos aires", "nairobi", "chicago", "hanoi", "lisbon", "dublin", "vienna", "denver", "milan",
        "boston", "athens", "helsinki", "salt lake city", "rio",
    ],
    "date": [
        "tomorrow", "tonight", "on friday", "this weekend", "next monday", "on saturday", "today", "on monday",
        "next week", "this evening", "on wednesday", "in the morning",
    ],
    "artist": [
        "adele", "queen", "daft punk", "miles davis", "shakira", "the beatles", "drake", "bob marley", "radiohead",
        "taylor swift", "metallica", "nina simone", "bts", "elton john", "rihanna", "pink floyd", "eminem",
        "green day", "the killers", "arctic monkeys", "the cure", "simply red", "deep purple", "the doors",
        "blondie", "iron maiden", "abba", "muse", "the weeknd", "imagine dragons", "lady gaga", "sting",
        "stormzy", "soundgarden", "nightwish", "goldfrapp", "silverchair", "icehouse", "earthgang", "firehouse",
    ],
    "service": ["spotify", "youtube", "deezer", "apple music", "pandora", "tidal", "soundcloud"],
    "time": [
        "7 am", "six thirty", "noon", "9 pm", "half past five", "10 am", "midnight", "6:45", "6 am", "7:30",
        "11 pm", "quarter to seven", "9 am",
    ],
}  # fmt: skip
"""Slot values: several per slot, so that a model learns a slot from its context, not from memorised words. Names
made of ordinary words ("silver spoon", "stormzy": storm + zy in word pieces) teach that such words can open a
slot too: a name's first word piece is what the slot head reads."""

NER_TEMPLATES = [
    "{PER} flew to {LOC} on monday",
    "{PER} works for {ORG} in {LOC}",
    "{ORG} opened an office in {LOC}",
    "yesterday {PER} met {PER} at {ORG}",
    "will it be sunny in {LOC} when {PER} lands",
    "what is the best restaurant near {ORG}",
    "play the interview with {PER}",
    "is it cold in {LOC} this week",
]
"""News-like templates with person, location and organisation entities."""

NER_VALUES = {
    "PER": ["ada lovelace", "alan turing", "grace hopper", "linus"],
    "LOC": ["paris", "new york", "berlin", "são paulo"],
    "ORG": ["acme corp", "the united nations", "cern"],
}


@dataclass(frozen=True)
class Expected:
    """A request and the answer a trained model should give.

    Attributes:
        text: The request.
        intent: Its intent.
        slots: Its entities as ``(slot, text)`` pairs, in order.
    """

    text: str
    intent: str
    slots: tuple[tuple[str, str], ...]


UNSEEN = [
    Expected(
        "book a table for five at olive garden", "BookRestaurant", (("party", "five"), ("restaurant", "olive garden"))
    ),
    Expected("what's the weather in berlin", "GetWeather", (("city", "berlin"),)),
    Expected("will it snow in oslo tomorrow", "GetWeather", (("city", "oslo"), ("date", "tomorrow"))),
    Expected("play something by coldplay", "PlayMusic", (("artist", "coldplay"),)),
    Expected("i would love to hear beyonce on spotify", "PlayMusic", (("artist", "beyonce"), ("service", "spotify"))),
    Expected("set an alarm for 5 am", "SetAlarm", (("time", "5 am"),)),
    Expected("please wake me up at 8 am on sunday", "SetAlarm", (("time", "8 am"), ("date", "on sunday"))),
]
"""Requests the generator never produces: new slot values (olive garden, berlin, coldplay, 5 am, ...) and new
sentence shapes ("will it snow", "i would love to hear", "please wake me up")."""


def _fill(template: str, values: dict[str, list[str]], rng: random.Random) -> tuple[list[str], list[str]]:
    # Tokens and IOB2 tags of a template with each {slot} replaced by a random value of that slot.
    tokens, tags = [], []
    for piece in template.split():
        if piece.startswith("{") and piece.endswith("}"):
            slot = piece[1:-1]
            words = rng.choice(values[slot]).split()
            tokens += words
            tags += [f"B-{slot}"] + [f"I-{slot}"] * (len(words) - 1)
        else:
            tokens.append(piece)
            tags.append("O")
    return tokens, tags


def assistant_rows(count: int, seed: int = 0, exclude: Collection[str] = ()) -> list[dict[str, Any]]:
    """``count`` distinct requests with intent and slots: ``{"text", "label", "tokens", "tags"}``, intents in turn.

    Args:
        count: Number of rows.
        seed: Seed of the random choice of templates and slot values.
        exclude: Texts not to produce (e.g. the training rows, when generating dev rows).

    Raises:
        ValueError: If the templates cannot give ``count`` distinct texts outside ``exclude``.
    """
    rng = random.Random(seed)
    intents = sorted(INTENT_TEMPLATES)
    seen = set(exclude)
    rows: list[dict[str, Any]] = []
    for _ in range(100 * count):
        if len(rows) == count:
            break
        intent = intents[len(rows) % len(intents)]
        tokens, tags = _fill(rng.choice(INTENT_TEMPLATES[intent]), SLOT_VALUES, rng)
        text = " ".join(tokens)
        if text not in seen:
            seen.add(text)
            rows.append({"text": text, "label": intent, "tokens": tokens, "tags": tags})
    if len(rows) < count:
        raise ValueError(f"the templates gave {len(rows)} distinct requests, not {count}")
    return rows


def intent_rows(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` requests with their intent only: ``{"text", "label"}``."""
    return [{"text": row["text"], "label": row["label"]} for row in assistant_rows(count, seed)]


def ner_rows(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` news-like sentences with person/location/organisation tags: ``{"tokens", "tags"}``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        tokens, tags = _fill(rng.choice(NER_TEMPLATES), NER_VALUES, rng)
        rows.append({"tokens": tokens, "tags": tags})
    return rows


def expected_answer(row: dict[str, Any]) -> Expected:
    """The answer to a generated request (a row of :func:`assistant_rows`): its intent and its tagged entities."""
    slots: list[list[str]] = []
    for token, tag in zip(row["tokens"], row["tags"]):
        if tag.startswith("B-"):
            slots.append([tag[2:], token])
        elif tag.startswith("I-"):
            slots[-1][1] += " " + token
    return Expected(row["text"], row["label"], tuple((slot, text) for slot, text in slots))


def check_predictions(
    predictions: list[dict[str, Any]], expected: list[Expected], intent_task: str = "intent", slot_task: str = "slots"
) -> list[bool]:
    """Whether each prediction has the expected intent and exactly the expected entities.

    Args:
        predictions: ``model.predict`` output for ``[e.text for e in expected]``.
        expected: The expected answers.
        intent_task: The sentence task's name.
        slot_task: The token task's name.

    Returns:
        One flag per text: intent right and the ``(label, text)`` pairs of its entities equal to ``slots``.
    """
    return [
        result[intent_task]["label"] == want.intent
        and tuple((entity["label"], entity["text"]) for entity in result[slot_task]) == want.slots
        for result, want in zip(predictions, expected, strict=True)
    ]


def answer_scores(
    predictions: list[dict[str, Any]], expected: list[Expected], intent_task: str = "intent", slot_task: str = "slots"
) -> list[dict[str, Any]]:
    """How sure the model is of each expected answer, in the scores ``predict`` reports.

    The intent's score is its softmax probability when it is the expected intent, an entity's the mean
    probability of its words' tags when ``predict`` returns it with the expected label and text; a wrong intent or
    a missed entity scores 0.

    Args:
        predictions: ``model.predict`` output for ``[e.text for e in expected]``.
        expected: The expected answers.
        intent_task: The sentence task's name.
        slot_task: The token task's name.

    Returns:
        Per request ``{"intent": score, "entities": {text: score}, "min": the smallest of them}``.
    """
    results = []
    for result, want in zip(predictions, expected, strict=True):
        intent = result[intent_task]["score"] if result[intent_task]["label"] == want.intent else 0.0
        found = {(entity["label"], entity["text"]): entity["score"] for entity in result[slot_task]}
        entities = {text: found.get((slot, text), 0.0) for slot, text in want.slots}
        results.append({"intent": intent, "entities": entities, "min": min([intent, *entities.values()])})
    return results
