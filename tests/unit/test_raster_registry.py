"""The raster function registry: every function is found by each of its names, and none is also refused."""

from typing import Any

import pytest

from translators.raster.functions import registry
from translators.raster.functions.base import Function

NAMES = [(name, f) for f in registry.FUNCTIONS for name in f.names]
ALIASES = [(alias, f) for f in registry.FUNCTIONS for alias in f.aliases]


@pytest.mark.parametrize("name, function", NAMES)
def test_each_name_finds_its_function_and_stays_the_rules_name(name: str, function: Function[Any]) -> None:
    assert registry.find(registry.function_key(name)) == (name, function)
    assert registry.function(name) is function


@pytest.mark.parametrize("alias, function", ALIASES)
def test_aliases_answer_under_the_first_name(alias: str, function: Function[Any]) -> None:
    assert registry.find(registry.function_key(alias)) == (function.names[0], function)


def test_names_are_unique_and_no_function_is_also_refused() -> None:
    keys = [registry.function_key(name) for name, _ in NAMES + ALIASES]
    assert len(keys) == len(set(keys))
    assert not set(keys) & registry.NOT_IMPLEMENTED
