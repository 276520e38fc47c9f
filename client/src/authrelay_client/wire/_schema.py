"""What the wire types share: JSON Schema keywords attached to a field, and the names of
the two shapes that are not ours to declare (arbitrary JSON and timestamps)."""

from typing import Annotated, Any, TypeAlias


class Schema:
    """JSON Schema keywords for one field beyond what its type says, used as
    `Annotated[str, Schema(format="date-time")]` (description, pattern, limits …)."""

    def __init__(self, **keywords: object) -> None:
        self.keywords = keywords

    def __repr__(self) -> str:
        return f"Schema({self.keywords!r})"


#: For arbitrary JSON only (tool inputs, JSON Schemas, upstream bodies); known shapes: TypedDicts.
JSONObject: TypeAlias = dict[str, Any]

#: An RFC 3339 time in UTC, written with a trailing `Z`.
Timestamp: TypeAlias = Annotated[str, Schema(format="date-time")]
