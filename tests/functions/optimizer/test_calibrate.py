"""The photo set's split: mechanical, disjoint, complete, the same on every machine."""

from __future__ import annotations

from functions.optimizer.calibrate import Photo, photo_split

TUNING = [
    "astronaut.png", "coffee.png", "rocket.png", "china.jpg",
    "Aqua.jpg", "Dune.jpg", "Garden.jpg", "LadyBird.jpg", "Storm.jpg", "Wood.jpg",
]  # fmt: skip
EVALUATION = [
    "chelsea.png", "hubble_deep_field.png", "flower.jpg",
    "Blinds.jpg", "FreshFlower.jpg", "GreenMeadow.jpg", "RainDrops.jpg", "TwoWings.jpg", "YellowFlower.jpg",
]  # fmt: skip


def test_split_is_the_documented_one(photos: list[Photo]) -> None:
    tuning, evaluation = photo_split(photos)
    assert [p.name for p in tuning] == TUNING
    assert [p.name for p in evaluation] == EVALUATION


def test_split_alternates_within_each_source_whatever_the_order() -> None:
    photos = [Photo(name, b"", source) for name, source in [("b", "x"), ("a", "x"), ("c", "x"), ("z", "y")]]
    tuning, evaluation = photo_split(list(reversed(photos)))
    assert [p.name for p in tuning] == ["z", "a", "c"]  # sources in order of appearance, names sorted within
    assert [p.name for p in evaluation] == ["b"]
    assert {p.name for p in tuning} | {p.name for p in evaluation} == {"a", "b", "c", "z"}
