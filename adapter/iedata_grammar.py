"""The separators and marks of the packed ``ieData`` string, and its parsed shape.

Shared by the full reader (``adapter.iedata``), the fast reader of well-formed
strings (``adapter.iedata_plain``) and the builder, so the three cannot
disagree on a separator. The grammar itself is drawn in ``adapter.iedata``.
"""

from typing import TypedDict

ELEMENT_SEP = ";"
NAME_SEP = ":"
PAIR_SEP = ","
VALUE_SEP = "="
SIP_MARK = "sipdatahead"
SIP_MARK_COLON = ":"
SIP_MARK_FULL_WIDTH_COLON = "\uff1a"  # "："
SIP_HEADER_SEP = "#%#%"
SIP_END = "#$#$"
SIP_NAME_SEP = ":"
CALLER_ELEMENT = "callerno"
CALLER_KEY = "callernumber"
# Full-width forms the upstream forbids but people type: "；" "：" "，" "＝".
FULL_WIDTH_SEPARATORS = {"\uff1b": ELEMENT_SEP, "\uff1a": NAME_SEP, "\uff0c": PAIR_SEP, "\uff1d": VALUE_SEP}


class SipHeader(TypedDict):
    name: str
    value: str


class IeData(TypedDict):
    elements: dict[str, dict[str, str]]
    caller_number: str | None
    sip_headers: list[SipHeader]
    raw: str
    warnings: list[str]
