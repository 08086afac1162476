"""The answer contract of the research model (issue 15 "Settings and the answer contract").

The model must answer with ONE JSON object (optionally inside one markdown code fence, nothing else):
``{"hypothesis": str, "alphas": [{"expression": str, "rationale": str, "settings": {...}}]}`` where
``settings`` is optional and uses BRAIN's names (``decay``, ``neutralization``, ``truncation``...).
``parse_answer`` returns the validated ``Answer`` or raises ``Rejected`` with one reason code:

``too_large``  more than ``MAX_ANSWER_CHARS`` characters;
``empty``      no text;
``injection``  text that tries to steer the system (``INJECTION`` patterns: "ignore previous instructions",
               "system prompt", a request for keys or passwords, chat-template tokens...);
``prose``      text that is not a JSON object;
``broken_json`` a JSON object that does not parse;
``contract``   valid JSON that breaks the contract (missing or invented keys, wrong types, empty or too many
               alphas, an over-long expression or rationale).

A rejected answer is stored with its reason and never reaches lint or the simulator. Invented data fields and
operators pass this contract (they are valid strings) and are caught by lint, whose errors go back to the model.
"""
from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_ANSWER_CHARS = 20_000
MAX_ALPHAS = 5
MAX_EXPRESSION_CHARS = 2000      # FASTEXPR's limit on a submitted expression
MAX_TEXT_CHARS = 2000

INJECTION = re.compile(
    r"ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|preceding)\s+"
    r"(?:instructions|prompts?|rules)"
    r"|disregard\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|system)\b"
    r"|system\s+prompt|developer\s+mode|jailbreak|you\s+are\s+now\b|new\s+instructions"
    r"|\bapi[\s_-]?keys?\b|\bsecret\s+keys?\b|\bpasswords?\b|\bcredentials?\b"
    r"|<\|?im_(?:start|end)\|?>|<\|(?:system|assistant|user)\|>|\[/?INST\]",
    re.IGNORECASE)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*)\n\s*```$", re.DOTALL)


class ProposedAlpha(BaseModel):
    """One alpha of an answer: the FastExpr ``expression``, the model's ``rationale``, optional BRAIN ``settings``."""

    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=1, max_length=MAX_EXPRESSION_CHARS)
    rationale: str = Field("", max_length=MAX_TEXT_CHARS)
    settings: dict[str, Any] = Field(default_factory=dict)


class Answer(BaseModel):
    """A valid answer: the model's restatement of the ``hypothesis`` and 1..``MAX_ALPHAS`` alphas."""

    model_config = ConfigDict(extra="forbid")

    hypothesis: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    alphas: list[ProposedAlpha] = Field(min_length=1, max_length=MAX_ALPHAS)


class Rejected(ValueError):
    """An answer outside the contract; ``reason`` is the code (module doc), the message says what is wrong."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _contract_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:4]:
        where = ".".join(str(x) for x in err.get("loc", ())) or "answer"
        msg = "invented key (not in the contract)" if err.get("type") == "extra_forbidden" else err.get("msg", "")
        parts.append(f"{where}: {msg}")
    more = len(exc.errors()) - 4
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_answer(text: str) -> Answer:
    """The ``Answer`` in the model's ``text``; raises ``Rejected`` (module doc) for anything else."""
    if len(text) > MAX_ANSWER_CHARS:
        raise Rejected("too_large", f"the answer has {len(text):,} characters; the limit is {MAX_ANSWER_CHARS:,}")
    body = text.strip()
    if not body:
        raise Rejected("empty", "the answer is empty")
    hit = INJECTION.search(body)
    if hit:
        raise Rejected("injection", f"the answer contains instruction-like text ({hit.group(0)!r}); "
                                    "answers may hold only the JSON object")
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body.startswith("{"):
        raise Rejected("prose", "the answer is not a JSON object (it must start with '{' and hold nothing else)")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise Rejected("broken_json", f"the JSON does not parse: {exc.msg} at line {exc.lineno} column "
                                      f"{exc.colno}") from None
    if not isinstance(data, dict):
        raise Rejected("prose", "the answer is not one JSON object")
    try:
        return Answer.model_validate(data)
    except ValidationError as exc:
        raise Rejected("contract", _contract_message(exc)) from None
