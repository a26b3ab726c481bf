"""The request bodies `ponder serve` accepts, and the conversation a strategy reads from them.

Fields of OpenAI's API that ponder does not use (`top_p`, `stop`, `user`, tools' metadata, ...) are
accepted and ignored, so a client works unchanged; the `ponder` object is checked strictly, as a typo
there would silently change what a request costs. `n` above 1 is refused: the samples are the
strategy's to draw (`sc@8/MODEL`), and one choice comes back.

A strategy reads a `Problem` (a question), not a list of messages: its own prompt decides how it
thinks. A conversation becomes the question as follows: the system (or developer) messages first,
then the turns; a single user turn is its text alone, a longer conversation a transcript
(`User: …`, `Assistant: …`). A request without a strategy sends the messages as they are.

The handlers read the body themselves (to cap its size before parsing), so FastAPI cannot see these
models; `components()` gives their JSON schemas, which the app's OpenAPI document names as each
route's request body: the document is the contract these models enforce.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from ponder.strategies.base import SEED_MODULUS
from ponder.types import Message

MAX_MESSAGES = 1000
MAX_NAME = 512


class PonderFields(BaseModel):
    """`extra_body={"ponder": {...}}`."""

    model_config = ConfigDict(extra="forbid")

    strategy: str | None = Field(None, max_length=MAX_NAME)
    limit: str | None = Field(None, max_length=MAX_NAME)  # "tokens=4000,usd=0.01"


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        parts = []
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise ValueError(f"only text content is served, not '{part.type}'")
            parts.append(part.text)
        return "".join(parts)


class _Common(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=MAX_NAME)
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    seed: int | None = Field(None, ge=0, lt=SEED_MODULUS)
    n: int | None = Field(None, ge=1, le=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    ponder: PonderFields | None = None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_completion_tokens: int | None = Field(None, ge=1)

    def bound(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def as_messages(self) -> list[Message]:
        """The messages as they are (for a request without a strategy)."""
        out = []
        for m in self.messages:
            role: Literal["system", "user", "assistant"] = "system" if m.role == "developer" else m.role
            out.append(Message(role, m.text()))
        return out

    def question(self) -> str:
        """The conversation as one question (for a strategy)."""
        system = [m.text() for m in self.messages if m.role in ("system", "developer")]
        turns = [m for m in self.messages if m.role not in ("system", "developer")]
        if len(turns) == 1 and turns[0].role == "user":
            body = turns[0].text()
        else:
            body = "\n\n".join(f"{m.role.capitalize()}: {m.text()}" for m in turns)
        return "\n\n".join([*system, body]).strip()


class CompletionRequest(_Common):
    prompt: str | list[str]

    def bound(self) -> int | None:
        return self.max_tokens

    def text(self) -> str:
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) != 1:
            raise ValueError("send one prompt per request (a list of exactly one string)")
        return self.prompt[0]

    def as_messages(self) -> list[Message]:
        return [Message("user", self.text())]

    def question(self) -> str:
        return self.text().strip()


REQUESTS: tuple[type[ChatRequest] | type[CompletionRequest], ...] = (ChatRequest, CompletionRequest)
COMPONENTS = "#/components/schemas/"


def components() -> dict[str, Any]:
    """{name: JSON schema} of the request bodies and every model they use, referring to one another
    as OpenAPI components (`#/components/schemas/NAME`)."""
    _, schema = models_json_schema([(m, "validation") for m in REQUESTS], ref_template=COMPONENTS + "{model}")
    defs: dict[str, Any] = schema["$defs"]
    return defs


def request_body(kind: type[ChatRequest] | type[CompletionRequest]) -> dict[str, Any]:
    """The OpenAPI `requestBody` of a route that takes `kind` (its JSON schema a component)."""
    ref = {"$ref": COMPONENTS + kind.__name__}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
