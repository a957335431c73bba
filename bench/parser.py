"""Section 2: the ieData parser alone: throughput, and growth with the string's length.

Throughput is over the simulator's ieData strings (every shape, warnings
included) and over 1,000 realistic strings, for the full parser
(``callnos_gateway.records.iedata``) and the batch reader (``callnos_gateway.records.iedata_fast.parse_many``). Growth uses well-formed strings of 1 KB to 10 MB made of distinct
elements and SIP headers, so no warning cap hides work: if the parser is
linear, the time per byte stays flat from 1 KB to 10 MB.
"""

from __future__ import annotations

from callnos_gateway.records.iedata import parse_ie_data
from callnos_gateway.records.iedata_fast import parse_many
from bench.records import realistic_ie_data
from bench.timing import interleaved_medians
from callnos_gateway.simulator.records import IE_SHAPES

SIZES = {"1KB": 1 << 10, "100KB": 100 << 10, "1MB": 1 << 20, "10MB": 10 << 20}


def realistic_strings() -> list[str]:
    """Every string-valued ieData shape the simulator sends, with a few counts and numbers."""
    strings = [build(count, str(9558800 + count)) for count in (1, 2, 3, 4) for build in IE_SHAPES.values()]
    return [text for text in strings if isinstance(text, str) and text]


def long_string(size: int) -> str:
    """A well-formed ieData string of about ``size`` characters: half elements, half SIP headers."""
    elements, headers, length, index = [], [], 0, 0
    while length < size:
        elements.append(f"E{index}:NumPlan=0,NumType=0,Number=955{index:08d}")
        headers.append(f"x-h{index}:sip:user{index}@host;tag=a{index}")
        length += len(elements[-1]) + len(headers[-1]) + 5  # their ";" and "#%#%"
        index += 1
    return ";".join(elements) + ";sipdatahead:" + "#%#%".join(headers) + "#$#$"


def throughput(rounds: int) -> dict:
    """µs per string and MB/s, full parser and batch reader, over the simulator's shapes and 1,000 realistic
    strings (the documented example with per-call numbers)."""
    found = {}
    for name, strings in (("simulator shapes", realistic_strings()),
                          ("realistic", [realistic_ie_data(index) for index in range(1000)])):
        size = sum(len(text.encode()) for text in strings)
        medians = interleaved_medians({"full": lambda s=strings: [parse_ie_data(text) for text in s],
                                       "batch": lambda s=strings: parse_many(s)}, rounds)
        found[name] = {"strings": len(strings), "bytes": size,
                       **{f"{reader}_us_per_string": seconds / len(strings) * 1e6 for reader, seconds in medians.items()},
                       **{f"{reader}_mb_per_s": size / seconds / 1e6 for reader, seconds in medians.items()}}
    return found


def growth(rounds: int) -> list[dict]:
    """Time per size, and each size's time per byte relative to the 1 KB string's."""
    texts = {name: long_string(size) for name, size in SIZES.items()}
    medians = interleaved_medians({name: (lambda text=text: parse_ie_data(text)) for name, text in texts.items()},
                                  rounds)
    base = medians["1KB"] / len(texts["1KB"])
    return [{"size": name, "chars": len(text), "ms": medians[name] * 1e3,
             "mb_per_s": len(text) / medians[name] / 1e6,
             "per_byte_vs_1KB": medians[name] / len(text) / base} for name, text in texts.items()]


def run(rounds: int = 5) -> dict:
    """Section 2's figures."""
    return {"realistic": throughput(rounds), "growth": growth(rounds)}
