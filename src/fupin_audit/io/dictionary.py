"""Text columns whose distinct values the file gives: parquet's dictionary pages.

Validation judges each distinct text of a column once and hands the verdict to every row holding it
(`schema.fields.encode_texts`), which needs each row's place among the distinct texts — a hash of
every row. A parquet writer has made that encoding already for a column of few distinct values (a
dictionary page, and per row an index into it): read that way, the column costs less to decode
(≈ 3 ms instead of 6 ms for 350,000 rows of a code-list column) and nothing to hash.

The encoding travels beside the text column it describes, keyed by the column's memory
(`buffer_key`): validation uses it only for the very arrow buffers it was made from, so a column the
loader replaced or re-sliced is hashed as before. This module imports no pandas (it runs on the
early decoding thread too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# A column chunk is read through its dictionary when, dictionary and indices, it takes less than this
# many bytes a row (uncompressed): a code list, a village or a date column. A column of mostly distinct
# values (IDs, names, amounts) costs more to read as a dictionary than it saves, and so does one whose
# writer gave up its dictionary part way (pages written plain once the dictionary was full: ≥ 4 bytes
# a row), which arrow would hash back into one.
DICTIONARY_BYTES_PER_ROW = 2.0


@dataclass(frozen=True, eq=False)
class Encoding:
    """A text column as its distinct `texts` and, per row, the place of its text among them (the
    writer's dictionary order; see `distinct_entries`). `column` is the text column itself, held so
    that its memory — the key — cannot pass to another array meanwhile."""

    column: pa.Array
    codes: np.ndarray
    texts: pa.Array

    @property
    def key(self) -> tuple[int, ...]:
        return buffer_key(self.column)


def buffer_key(array: pa.Array | pa.ChunkedArray) -> tuple[int, ...]:
    """Where an arrow string array's values are in memory (offsets and data buffers, offset, length):
    equal for two arrays exactly when they are views of the same values. () for an array of several
    chunks or without buffers."""
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks != 1:
            return ()
        array = array.chunk(0)
    buffers = array.buffers()
    if len(buffers) < 3 or buffers[1] is None:
        return ()
    data = buffers[2].address if buffers[2] is not None else 0
    return (buffers[1].address, data, array.offset, len(array))


def dictionary_columns(metadata, schema: pa.Schema) -> list[str]:
    """The top-level text columns worth reading through their dictionary pages (see the module
    docstring): a dictionary page, and less than DICTIONARY_BYTES_PER_ROW bytes a row. Only in a file
    of one row group (up to a million rows as arrow writes them): the row groups of a larger file are
    columns of several chunks, whose dictionaries must be unified and texts joined into one array —
    more than the hashing it saves (a million-household members file: 1.1 → 1.5 s)."""
    if metadata.num_row_groups != 1:
        return []
    group = metadata.row_group(0)
    chosen = []
    for i, field in enumerate(schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        chunk = group.column(i)
        if (
            chunk.path_in_schema == field.name
            and chunk.has_dictionary_page
            and chunk.total_uncompressed_size < DICTIONARY_BYTES_PER_ROW * group.num_rows
        ):
            chosen.append(field.name)
    return chosen


def decode(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, Encoding]:
    """A dictionary-encoded text column → the column as large_string texts (null as "") and its
    `Encoding`, taken from the dictionary instead of hashing every row. No pyarrow call here makes
    an array from Python or numpy values: that imports pandas, which the early thread must not wait
    for (`parquet._no_nulls`)."""
    if not len(column):
        empty = _texts([])
        return pa.chunked_array([empty]), Encoding(empty, np.empty(0, np.int64), empty)
    column = column.unify_dictionaries() if column.num_chunks > 1 else column
    dictionary = column.chunk(0).dictionary.cast(pa.large_string())
    texts = column.cast(pa.large_string())  # drops empty chunks: one or more chunks are left
    texts = texts.chunk(0) if texts.num_chunks == 1 else texts.combine_chunks()
    indices = [chunk.indices for chunk in column.chunks]
    if column.null_count:  # a null is "": the entry of "" (added when the dictionary has none)
        empty = _texts([""])
        found = pc.index(dictionary, empty[0]).as_py()
        if found < 0:
            dictionary = pa.concat_arrays([dictionary, empty])
            found = len(dictionary) - 1
        texts = pc.fill_null(texts, empty[0])
        indices = [pc.fill_null(i.cast(pa.int64()), _ints(np.array([found]))[0]) for i in indices]
    codes = _numpy(indices[0]) if len(indices) == 1 else np.concatenate([_numpy(i) for i in indices])
    codes, distinct = distinct_entries(codes, dictionary)
    return pa.chunked_array([texts]), Encoding(texts, codes, distinct)


def distinct_entries(codes: np.ndarray, entries: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes into a writer's dictionary → codes for `encode_texts`: into the texts some row has, in
    the dictionary's order (arrow's writer: first-seen). A dictionary may hold texts no row has (a
    pandas categorical's unused categories): dropped, as a verdict may depend on the other texts
    judged with it (a "-0" amount's sign does). It may write a text twice (other writers): every
    caller judges each entry alone, so that text gets the same verdict twice. With as many entries as
    rows they are made distinct and put in first-seen order: callers read codes into as many texts as
    rows as the rows themselves (0…n-1)."""
    if len(entries) < len(codes):
        used = np.bincount(codes, minlength=len(entries)) > 0
        if used.all():
            return codes, entries
        place = np.cumsum(used) - 1
        return place[codes], entries.take(_ints(np.flatnonzero(used)))
    merged = pc.dictionary_encode(entries)
    distinct = merged.dictionary
    if len(distinct) != len(entries):
        codes = _numpy(merged.indices)[codes]
    first = np.full(len(distinct), len(codes), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # assigned last-to-first: the first row wins
    used = np.flatnonzero(first < len(codes))
    order = used[np.argsort(first[used], kind="stable")]
    place = np.full(len(distinct), -1, dtype=np.int64)
    place[order] = np.arange(len(order))
    return place[codes], distinct.take(_ints(order))


def _ints(values: np.ndarray) -> pa.Array:
    """An int64 arrow array on a numpy array's memory."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _texts(values: list[str]) -> pa.Array:
    """A large_string arrow array of a few texts, built from bytes."""
    data = [v.encode() for v in values]
    offsets = np.cumsum([0, *(len(d) for d in data)], dtype=np.int64)
    return pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(data)))


def _numpy(integers: pa.Array) -> np.ndarray:
    """An arrow integer array without nulls as numpy, on its memory."""
    width = integers.type.bit_width // 8
    buffer = integers.buffers()[1]
    kind = np.dtype(f"{'i' if pa.types.is_signed_integer(integers.type) else 'u'}{width}")
    return np.frombuffer(buffer, dtype=kind)[integers.offset : integers.offset + len(integers)]


def known_encoding(array: pa.Array, known: dict[tuple[int, ...], Encoding] | None) -> Encoding | None:
    """The `Encoding` made for exactly this array's values, if any."""
    if not known:
        return None
    key = buffer_key(array)
    return known.get(key) if key else None
