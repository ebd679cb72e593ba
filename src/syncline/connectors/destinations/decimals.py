"""Decimals as plain positional text with their column's scale, for every text output.

Arrow's decimal-to-text cast switches to scientific notation when a value's adjusted
exponent is below -6, or when the scale is negative: in a ``decimal128(38, 18)`` column
``-0.000000000000000001`` and zero come out as ``-1E-18`` and ``0E-18`` while the other
rows read ``1.500000000000000000``. A file, a webhook body or a text column must spell
every row the same way, so the rows Arrow writes in that form are respelled, column-wise,
which costs nothing when there are none.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def decimal_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each decimal as positional text with the column's scale; a NULL stays NULL."""
    text = pc.cast(column, pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    scientific = pc.fill_null(pc.match_substring(text, "E"), False)
    if not pc.any(scientific).as_py():
        return text
    fixed = _positional(text.filter(scientific), column.type.scale)
    return pc.replace_with_mask(text, scientific, fixed)


def _positional(text: pa.Array, scale: int) -> pa.Array:
    """Arrow's scientific spellings (``-1.23E-16``) rewritten at ``scale``."""
    negative = pc.starts_with(text, "-")
    # Literal splits and replaces: a regular expression is several times slower here.
    coefficient = pc.list_element(pc.split_pattern(text, "E", max_splits=1), 0)
    digits = pc.replace_substring(pc.replace_substring(coefficient, ".", ""), "-", "")
    if scale > 0:
        # With a positive scale Arrow only goes scientific below 1e-6, so every digit
        # of the coefficient is a fraction digit.
        padded = pc.utf8_lpad(digits, width=scale, padding="0")
        body = pc.binary_join_element_wise("0.", padded, "")
    else:
        scaled = pc.binary_join_element_wise(digits, "0" * -scale, "")
        body = pc.if_else(pc.equal(digits, "0"), "0", scaled)
    signed = pc.binary_join_element_wise("-", body, "")
    return pc.if_else(negative, signed, body)
