"""Time between two moments, in seconds, computed by the database on either engine.

PostgreSQL subtracts timestamps exactly. SQLite stores them as text, and its `julianday`
reads them to the millisecond as a day number whose float arithmetic leaves an error of a
few tens of microseconds: rounding to the millisecond gives back the exact figure, so a wait
of exactly 20 s is 20.0 on both engines (and a call at a quarter hour's first instant falls
in that quarter, not the one before)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds (a float; NULL when either is NULL)."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


class whole_units(FunctionElement[int]):
    """How many whole `unit`s fit in a non-negative number of seconds (a floor)."""

    type = Integer()
    name = "whole_units"
    inherit_cache = True


# Each construct as each engine writes it, its arguments in order. SQLite's CAST truncates
# toward zero: the floor for the non-negative numbers whole_units is given.
_SQL: dict[tuple[type[FunctionElement[Any]], str], str] = {
    (seconds_between, "postgresql"): "CAST(EXTRACT(EPOCH FROM ({0} - {1})) AS DOUBLE PRECISION)",
    (seconds_between, "sqlite"): "round((julianday({0}) - julianday({1})) * 86400.0, 3)",
    (whole_units, "postgresql"): "CAST(floor({0} / {1}) AS INTEGER)",
    (whole_units, "sqlite"): "CAST({0} / {1} AS INTEGER)",
}


def _register(construct: type[FunctionElement[Any]], dialect: str, template: str) -> None:
    @compiles(construct, dialect)
    def render(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
        return template.format(*(compiler.process(argument, **kw) for argument in element.clauses))


for (_construct, _dialect), _template in _SQL.items():
    _register(_construct, _dialect, _template)
