#!/usr/bin/env python3
"""Interop test for the ingest service, driven from Python with confluent-kafka and fastavro.

A third-party producer sends good documents (Avro single-object encoding written by fastavro,
JSON with and without a content-type header, id from the Kafka key, content-derived id, a
declared ISO-8859-1 charset) mixed with malformed records, each with a unique key and the reason
code ingest must give it. The script then reads `<prefix>documents.tokens` and
`<prefix>deadletter` from the beginning and checks that every good document is tokenized exactly
once, every bad record is dead-lettered exactly once with the expected reason, its original bytes
and source topic, and that tokenized + dead-lettered == produced.

Every id and key carries a per-run nonce, so the script can run repeatedly against the same
broker: records from earlier runs are ignored (and counted as "foreign" in the summary).

Exit status: 0 all checks pass, 1 a check failed, 2 the test could not run (produce failed,
schemas missing, ...).

    python tests/interop/interop_ingest.py --bootstrap 127.0.0.1:9092 --prefix latentlabel. --docs 300
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import random
import secrets
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import fastavro
from confluent_kafka import Consumer, KafkaError, Producer
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
# IngestConfig::max_document_bytes default (services/ingest/src/config.rs).
MAX_DOCUMENT_BYTES = 1 << 20
SINGLE_OBJECT_MARKER = b"\xc3\x01"

# --------------------------------------------------------------------------------------------
# Avro single-object encoding
# --------------------------------------------------------------------------------------------

_RABIN_EMPTY = 0xC15D213AA4D7A795
_RABIN_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_RABIN_EMPTY if _fp & 1 else 0)
    _RABIN_TABLE.append(_fp)


def rabin64(data: bytes) -> int:
    """CRC-64-AVRO as written in the Avro specification (reference for fastavro's result)."""
    fp = _RABIN_EMPTY
    for b in data:
        fp = (fp >> 8) ^ _RABIN_TABLE[(fp ^ b) & 0xFF]
    return fp


class AvroType:
    """One schema of schemas/: single-object encode/decode with fastavro."""

    def __init__(self, name: str):
        self.name = name
        self.schema = parse_schema(json.loads((SCHEMAS / f"{name}.avsc").read_text()))
        self.canonical = to_parsing_canonical_form(self.schema)
        # fastavro returns the fingerprint as hex of its little-endian bytes, which is exactly the
        # byte order the spec puts on the wire. Cross-check against the spec's algorithm so a
        # change in fastavro's convention cannot silently flip the byte order.
        fp_hex = fingerprint(self.canonical, "CRC-64-AVRO")
        self.fingerprint = bytes.fromhex(fp_hex)
        reference = rabin64(self.canonical.encode()).to_bytes(8, "little")
        if self.fingerprint != reference:
            raise SystemExit(
                f"fastavro fingerprint {fp_hex} for {name} disagrees with the spec's "
                f"CRC-64-AVRO {reference.hex()} (little-endian)"
            )

    def datum(self, record: dict) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self.schema, record)
        return buf.getvalue()

    def encode(self, record: dict) -> bytes:
        return SINGLE_OBJECT_MARKER + self.fingerprint + self.datum(record)

    def decode(self, payload: bytes) -> dict:
        if payload[:2] != SINGLE_OBJECT_MARKER:
            raise ValueError(f"{self.name}: not single-object encoded (starts {payload[:2].hex()})")
        if payload[2:10] != self.fingerprint:
            raise ValueError(
                f"{self.name}: fingerprint {payload[2:10].hex()} != expected {self.fingerprint.hex()}"
            )
        buf = io.BytesIO(payload[10:])
        record = fastavro.schemaless_reader(buf, self.schema, None)
        rest = len(payload) - 10 - buf.tell()
        if rest:
            raise ValueError(f"{self.name}: {rest} trailing bytes after the datum")
        return record


# --------------------------------------------------------------------------------------------
# Realistic English text
# --------------------------------------------------------------------------------------------

TOPICS = {
    "billing": (
        ["The invoice for March", "Our monthly subscription", "The refund I requested",
         "The credit card payment", "The annual renewal quote"],
        ["was charged twice", "still shows as pending", "has not arrived after ten days",
         "lists a discount we never agreed to", "was declined without explanation"],
        ["Could you check the account history and correct the balance?",
         "Please send an updated statement to our finance department.",
         "We would like the duplicate charge reversed before the next billing cycle.",
         "Our accountant needs the corrected receipt for the quarterly audit."],
    ),
    "hardware": (
        ["The warehouse barcode scanner", "My laptop docking station", "The conference room projector",
         "The replacement keyboard", "The office printer on the third floor"],
        ["stopped responding after the firmware update", "overheats within twenty minutes",
         "keeps dropping its wireless connection", "prints faded pages with streaks",
         "makes a grinding noise when it starts"],
        ["We already tried restarting it and swapping the cables.",
         "Is there a repair depot nearby or should we ship it back?",
         "The warranty should still cover this until November.",
         "Several colleagues report exactly the same symptoms."],
    ),
    "space": (
        ["The orbiter", "The new infrared telescope", "The lunar lander team", "Mission control",
         "The solar observatory"],
        ["captured detailed images of the northern polar ice", "adjusted its trajectory ahead of the flyby",
         "measured unexpected methane levels in the atmosphere", "completed a successful engine burn",
         "detected a faint companion star orbiting the dwarf"],
        ["Scientists expect the full dataset to be released next spring.",
         "Engineers are analysing telemetry to understand the anomaly.",
         "The launch window opens again in about eighteen months.",
         "Astronomers around the world are requesting observation time."],
    ),
    "sports": (
        ["The home team", "Their veteran goalkeeper", "The young striker", "The coaching staff",
         "The visiting defence"],
        ["scored twice in the second half", "struggled against the heavy rain",
         "celebrated a remarkable comeback victory", "announced a new training programme",
         "conceded a late penalty after a controversial decision"],
        ["Supporters filled the stadium despite the weather.",
         "The league table is tighter than it has been for years.",
         "Analysts praised the tactical switch at halftime.",
         "Tickets for the final sold out within an hour."],
    ),
    "cooking": (
        ["This slow roasted tomato soup", "The sourdough loaf", "Grandmother's apple crumble",
         "A spicy chickpea curry", "The lemon and herb chicken"],
        ["needs fresh basil and plenty of garlic", "rises beautifully when the kitchen is warm",
         "tastes even better the following day", "freezes well for busy weeknights",
         "pairs nicely with roasted vegetables"],
        ["Simmer gently and stir occasionally so nothing sticks.",
         "Season generously with salt and cracked pepper before serving.",
         "Leave the dough covered overnight in the refrigerator.",
         "Serve warm with crusty bread or steamed rice."],
    ),
}

LATIN1_SENTENCES = [
    "The café near the station serves a naïve but charming crème brûlée.",
    "Her résumé mentions two years in Zürich and a summer in São Paulo.",
    "The façade of the old château was restored by a Genève studio.",
    "Señor Muñoz ordered jalapeño piñata decorations for the fiesta.",
]


def english_text(rng: random.Random, tag: str) -> str:
    subjects, predicates, closers = TOPICS[rng.choice(sorted(TOPICS))]
    sentences = [f"{rng.choice(subjects)} {rng.choice(predicates)}." for _ in range(rng.randint(2, 4))]
    sentences += rng.sample(closers, 2)
    rng.shuffle(sentences)
    # The tag makes the content unique per run and per document (dedup flags identical content,
    # and content-derived ids must not collide with earlier runs).
    return " ".join(sentences) + f" Reference {tag}."


# --------------------------------------------------------------------------------------------
# Test cases
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str
    value: Optional[bytes]
    key: Optional[bytes] = None
    headers: list = field(default_factory=list)
    # Good: the id the tokenized document must carry. Bad: the expected dead-letter reason.
    expect_id: Optional[str] = None
    expect_reason: Optional[str] = None
    # Extra checks on the tokenized document; return an error string or None.
    check: Optional[Callable[[dict], Optional[str]]] = None
    # At the size limit: sent in a second phase (see main).
    boundary: bool = False
    # Filled in while consuming.
    tokenized: list = field(default_factory=list)
    deadlettered: list = field(default_factory=list)

    @property
    def good(self) -> bool:
        return self.expect_id is not None


def expect_text(fragment: str) -> Callable[[dict], Optional[str]]:
    return lambda doc: None if fragment in doc["text"] else f"text lacks {fragment!r}: {doc['text'][:120]!r}"


def expect_meta(source: Optional[str], **metadata: str) -> Callable[[dict], Optional[str]]:
    def check(doc: dict) -> Optional[str]:
        if source is not None and doc.get("source") != source:
            return f"source {doc.get('source')!r} != {source!r}"
        for k, v in metadata.items():
            if doc["metadata"].get(k) != v:
                return f"metadata[{k!r}] = {doc['metadata'].get(k)!r}, expected {v!r}"
        return None
    return check


def good_cases(n: int, nonce: str, raw_avro: AvroType, rng: random.Random) -> list[Case]:
    kinds = ["avro", "avro+header", "json+header", "json-sniffed", "json-key-id", "json-content-id", "latin1"]
    cases = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        doc_id = f"{nonce}-good-{i:05d}"
        text = english_text(rng, f"{nonce}-{i}")
        created = int(time.time() * 1000)
        if kind.startswith("avro"):
            record = {"id": doc_id, "text": text, "source": "interop-fastavro",
                      "metadata": {"lang": "en", "seq": str(i)}, "created_at_ms": created}
            headers = [("content-type", b"avro/binary")] if kind == "avro+header" else []
            cases.append(Case(kind, raw_avro.encode(record), doc_id.encode(), headers, doc_id,
                              check=expect_meta("interop-fastavro", lang="en", seq=str(i))))
        elif kind == "json+header":
            body = {"id": doc_id, "text": text, "source": "interop-json", "priority": 3,
                    "metadata": {"team": "support"}}
            cases.append(Case(kind, json.dumps(body).encode(), doc_id.encode(),
                              [("content-type", b"application/json")], doc_id,
                              check=expect_meta("interop-json", team="support", priority="3")))
        elif kind == "json-sniffed":
            # No header and no key: format sniffed from '{', id from the body.
            cases.append(Case(kind, json.dumps({"id": doc_id, "text": text}).encode(), None, [], doc_id))
        elif kind == "json-key-id":
            # No id in the body: ingest takes the Kafka key.
            cases.append(Case(kind, json.dumps({"text": text}).encode(), doc_id.encode(), [], doc_id))
        elif kind == "json-content-id":
            # Neither id nor key: ingest derives sha256:<hex of text>.
            content_id = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            cases.append(Case(kind, json.dumps({"text": text}).encode(), None, [], content_id))
        else:
            sentence = LATIN1_SENTENCES[i % len(LATIN1_SENTENCES)]
            body = {"id": doc_id, "text": f"{sentence} {text}"}
            value = json.dumps(body, ensure_ascii=False).encode("iso-8859-1")
            assert any(b >= 0x80 for b in value)
            cases.append(Case(kind, value, doc_id.encode(), [("charset", b"iso-8859-1")], doc_id,
                              check=expect_text(sentence)))
    return cases


def bad_cases(nonce: str, raw_avro: AvroType, rng: random.Random) -> list[Case]:
    def key(name: str) -> bytes:
        return f"{nonce}-bad-{name}".encode()

    text = english_text(rng, f"{nonce}-bad")
    valid_datum = raw_avro.datum({"id": f"{nonce}-x", "text": text, "source": None,
                                  "metadata": {}, "created_at_ms": None})
    json_ct = [("content-type", b"application/json")]
    wrong_fp = bytes(b ^ 0xFF for b in raw_avro.fingerprint)
    cases = [
        Case("garbage-bytes", b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(48), key("garbage"), expect_reason="decode"),
        Case("truncated-json", json.dumps({"id": "t", "text": text}).encode()[:40], key("truncated-json"),
             expect_reason="decode"),
        Case("json-array", json.dumps([{"id": "a", "text": text}]).encode(), key("json-array"), json_ct,
             expect_reason="decode"),
        Case("json-no-text", json.dumps({"id": f"{nonce}-nt", "body": text}).encode(), key("no-text"),
             expect_reason="missing_field"),
        Case("json-text-number", json.dumps({"id": f"{nonce}-tn", "text": 42}).encode(), key("text-number"),
             expect_reason="missing_field"),
        Case("invalid-utf8", b'{"id":"x","text":"caf\xe9 au lait \xff\xfe"}', key("invalid-utf8"),
             expect_reason="invalid_utf8"),
        Case("unsupported-charset", json.dumps({"text": text}).encode(), key("charset"),
             [("charset", b"shift_jis")], expect_reason="invalid_charset"),
        Case("avro-wrong-fingerprint", SINGLE_OBJECT_MARKER + wrong_fp + valid_datum, key("avro-fp"),
             expect_reason="unknown_schema"),
        Case("avro-truncated", SINGLE_OBJECT_MARKER + raw_avro.fingerprint + valid_datum[: len(valid_datum) // 2],
             key("avro-truncated"), expect_reason="decode"),
        Case("avro-header-only", SINGLE_OBJECT_MARKER + raw_avro.fingerprint[:5], key("avro-short"),
             expect_reason="decode"),
        Case("confluent-framed", b"\x00" + (4242).to_bytes(4, "big") + valid_datum, key("confluent"),
             expect_reason="unknown_schema"),
        Case("empty-value", b"", key("empty"), expect_reason="empty"),
        Case("null-value", None, key("tombstone"), expect_reason="empty"),
        Case("stop-words-only", json.dumps({"id": f"{nonce}-sw", "text": "The and of it is to be, or not to be: that was all."}).encode(),
             key("stopwords"), expect_reason="empty"),
    ]
    return cases


def boundary_cases(nonce: str, rng: random.Random) -> list[Case]:
    """Records at ingest's size limit: one good document of exactly the limit, one a byte over."""
    def sized_json(doc_id: str, size: int) -> bytes:
        head = json.dumps({"id": doc_id, "text": ""}).encode()
        parts, n = [], len(head)
        while n < size:
            sentence = english_text(rng, f"{nonce}-{len(parts)}") + " "
            parts.append(sentence)
            n += len(sentence)
        text = "".join(parts)[: size - len(head)]
        value = json.dumps({"id": doc_id, "text": text}).encode()
        assert len(value) == size, (len(value), size)
        return value

    at_limit_id = f"{nonce}-good-at-limit"
    return [
        # Good: exactly max_document_bytes, so it must be accepted and tokenized.
        Case("at-limit-1MiB", sized_json(at_limit_id, MAX_DOCUMENT_BYTES), at_limit_id.encode(), [],
             at_limit_id, boundary=True),
        # Well-formed JSON one byte over the limit, so only the size can reject it.
        Case("oversized", sized_json(f"{nonce}-big", MAX_DOCUMENT_BYTES + 1), f"{nonce}-bad-oversized".encode(),
             expect_reason="too_large", boundary=True),
    ]


# --------------------------------------------------------------------------------------------
# Kafka
# --------------------------------------------------------------------------------------------


class QuietLog(logging.Filter):
    """librdkafka repeats connection failures every 50 ms; show the first few only."""

    def __init__(self, limit: int = 5):
        super().__init__()
        self.limit, self.seen = limit, 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen += 1
        if self.seen == self.limit + 1:
            record.msg, record.args = "(further librdkafka messages suppressed)", ()
        return self.seen <= self.limit + 1


def kafka_logger() -> logging.Logger:
    logger = logging.getLogger("librdkafka")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("librdkafka: %(message)s"))
        logger.addHandler(handler)
        logger.addFilter(QuietLog())
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    return logger


class BrokerWatch:
    """Global client errors; the broker vanishing (e.g. `latentlabel up` exited) ends the test."""

    def __init__(self):
        self.down_since: Optional[float] = None
        self.last_error = ""

    def __call__(self, err) -> None:
        self.last_error = str(err)
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self.down_since = self.down_since or time.monotonic()

    def up(self) -> None:
        self.down_since = None

    def down_for(self) -> float:
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since


def make_producer(bootstrap: str) -> Producer:
    return Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "linger.ms": 10,
        # Room for the record just over ingest's 1 MiB limit (librdkafka's default is 1,000,000).
        "message.max.bytes": 4 * 1024 * 1024,
        "message.timeout.ms": 30000,
        "logger": kafka_logger(),
    })


def produce(producer: Producer, topic: str, cases: list[Case]) -> None:
    failures = []

    def on_delivery(err, msg):
        if err is not None:
            failures.append(f"{msg.key()!r}: {err}")

    for c in cases:
        while True:
            try:
                producer.produce(topic, value=c.value, key=c.key, headers=c.headers or None,
                                 on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining:
        failures.append(f"{remaining} records not acknowledged after 60 s")
    if failures:
        print("PRODUCE FAILED (test not run):", *failures[:20], sep="\n  ", file=sys.stderr)
        sys.exit(2)


class Collector:
    """Reads the tokens and dead-letter topics from the beginning and files each output under the
    case that caused it. Outputs of other runs (no nonce) are counted as foreign and ignored."""

    def __init__(self, args, nonce: str, cases: list[Case], tokens_avro: AvroType, dl_avro: AvroType):
        self.args, self.nonce = args, nonce
        self.tokens_avro, self.dl_avro = tokens_avro, dl_avro
        self.tokens_topic = f"{args.prefix}documents.tokens"
        self.dl_topic = f"{args.prefix}deadletter"
        self.by_id = {c.expect_id: c for c in cases if c.good}
        self.by_key = {c.key: c for c in cases if c.key is not None}
        self.by_payload = defaultdict(list)
        for c in cases:
            if c.key is None:
                self.by_payload[c.value or b""].append(c)
        self.stats = Counter()
        self.problems: list[str] = []
        self.broker_lost = False
        self.watch = BrokerWatch()
        self.consumer = Consumer({
            "bootstrap.servers": args.bootstrap,
            "group.id": f"interop-{nonce}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "fetch.max.bytes": 16 * 1024 * 1024,
            "logger": kafka_logger(),
            "error_cb": self.watch,
        })
        self.consumer.subscribe([self.tokens_topic, self.dl_topic])

    def ours(self, data) -> bool:
        if isinstance(data, bytes):
            data = data[:4096].decode("utf-8", "replace")
        return self.nonce in data

    def pump(self, until: Callable[[], bool], seconds: float) -> None:
        """Consumes until `until()` holds or `seconds` pass (or the broker is gone)."""
        deadline = time.monotonic() + seconds
        while not self.broker_lost and not until() and time.monotonic() < deadline:
            if self.watch.down_for() > self.args.broker_down_timeout:
                try:  # librdkafka reports no "back up" event: ask the broker directly.
                    self.consumer.list_topics(timeout=2)
                    self.watch.up()
                except Exception:  # noqa: BLE001
                    self.broker_lost = True
                    self.problems.append(
                        f"broker unreachable for {self.watch.down_for():.0f} s ({self.watch.last_error}); "
                        "did the pipeline process exit? Stopped consuming early.")
                    break
            msg = self.consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    print(f"consumer error: {msg.error()}", file=sys.stderr)
                continue
            self.watch.up()
            if msg.topic() == self.tokens_topic:
                self.on_tokens(msg)
            else:
                self.on_dead_letter(msg)

    def on_tokens(self, msg) -> None:
        key, value = msg.key(), msg.value() or b""
        try:
            doc = self.tokens_avro.decode(value)
        except Exception as e:  # noqa: BLE001 - any decode failure is a finding
            self.stats["tokens_undecodable"] += 1
            if key and self.ours(key):
                self.problems.append(f"tokens record key={key!r} does not decode: {e}")
            return
        case = self.by_id.get(doc["id"])
        if case is None:
            if self.ours(doc["id"]) or self.ours(doc["text"]):
                self.problems.append(f"unexpected tokenized document id={doc['id']!r}: {doc['text'][:80]!r}")
                self.stats["tokens_unexpected"] += 1
            else:
                self.stats["tokens_foreign"] += 1
            return
        if key != doc["id"].encode():
            self.problems.append(f"{case.kind}: tokens record key {key!r} != id {doc['id']!r}")
        case.tokenized.append(doc)

    def on_dead_letter(self, msg) -> None:
        key, value = msg.key(), msg.value() or b""
        try:
            dl = self.dl_avro.decode(value)
        except Exception as e:  # noqa: BLE001
            self.stats["deadletter_undecodable"] += 1
            if key and self.ours(key):
                self.problems.append(f"dead letter key={key!r} does not decode: {e}")
            return
        case = self.by_key.get(dl["key"]) if dl["key"] is not None else None
        if case is None and dl["key"] is None:
            # Records produced without a key are found by their bytes.
            candidates = self.by_payload.get(dl["payload"], [])
            case = candidates[0] if len(candidates) == 1 else None
        if case is None:
            if self.ours(dl["payload"]) or (key and self.ours(key)):
                self.problems.append(f"unattributable dead letter key={key!r} reason={dl['reason']}")
                self.stats["deadletter_unexpected"] += 1
            else:
                self.stats["deadletter_foreign"] += 1
            return
        dl["_reason_header"] = dict(msg.headers() or []).get("reason")
        dl["_record_key"] = key
        case.deadlettered.append(dl)

    def close(self) -> None:
        self.consumer.close()


def settled(cases: list[Case]) -> Callable[[], bool]:
    return lambda: all(c.tokenized or c.deadlettered for c in cases)


# --------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------


def verify(cases: list[Case], raw_topic: str) -> list[str]:
    errors = []
    for c in cases:
        label = f"{c.kind} key={c.key!r}" if c.key else f"{c.kind} id={c.expect_id!r}"
        if c.good:
            if c.deadlettered:
                dl = c.deadlettered[0]
                errors.append(f"{label}: good document dead-lettered, reason={dl['reason']!r}: {dl['message']}")
            if len(c.tokenized) != 1:
                errors.append(f"{label}: tokenized {len(c.tokenized)} times, expected exactly once")
            for doc in c.tokenized[:1]:
                if not doc["terms"] or doc["token_count"] <= 0:
                    errors.append(f"{label}: empty terms (token_count={doc['token_count']})")
                terms = [t["term"] for t in doc["terms"]]
                if terms != sorted(terms) or len(set(terms)) != len(terms):
                    errors.append(f"{label}: terms not sorted/unique")
                if any(t["count"] <= 0 for t in doc["terms"]):
                    errors.append(f"{label}: non-positive term count")
                if sum(t["count"] for t in doc["terms"]) != doc["token_count"]:
                    errors.append(f"{label}: token_count {doc['token_count']} != sum of counts")
                if hashlib.sha256(doc["text"].encode()).hexdigest() != doc["content_hash"]:
                    errors.append(f"{label}: content_hash is not sha256 of the text")
                if doc["duplicate_of"] is not None:
                    errors.append(f"{label}: flagged duplicate_of={doc['duplicate_of']!r} (contents are unique)")
                if c.check and (err := c.check(doc)):
                    errors.append(f"{label}: {err}")
        else:
            if c.tokenized:
                errors.append(f"{label}: bad record was tokenized as id={c.tokenized[0]['id']!r}")
            if len(c.deadlettered) != 1:
                errors.append(f"{label}: dead-lettered {len(c.deadlettered)} times, expected exactly once")
            for dl in c.deadlettered[:1]:
                if dl["reason"] != c.expect_reason:
                    errors.append(f"{label}: reason {dl['reason']!r}, expected {c.expect_reason!r} ({dl['message']})")
                if dl["_reason_header"] != dl["reason"].encode():
                    errors.append(f"{label}: reason header {dl['_reason_header']!r} != {dl['reason']!r}")
                if dl["payload"] != (c.value or b""):
                    errors.append(f"{label}: payload differs from the original bytes "
                                  f"({len(dl['payload'])} vs {len(c.value or b'')} bytes)")
                if dl["source_topic"] != raw_topic:
                    errors.append(f"{label}: source_topic {dl['source_topic']!r} != {raw_topic!r}")
                if dl["service"] != "ingest":
                    errors.append(f"{label}: service {dl['service']!r} != 'ingest'")
                if dl["key"] != c.key or dl["_record_key"] != c.key:
                    errors.append(f"{label}: key {dl['key']!r}/{dl['_record_key']!r} != {c.key!r}")
                if dl["source_offset"] < 0 or dl["source_partition"] < 0:
                    errors.append(f"{label}: bad source position {dl['source_partition']}/{dl['source_offset']}")
    return errors


def summary(cases: list[Case], stats: Counter, elapsed: float) -> tuple[int, int, int]:
    rows = defaultdict(Counter)
    got = defaultdict(set)
    order = []
    for c in cases:
        if c.kind not in rows:
            order.append(c.kind)
        r = rows[c.kind]
        r["sent"] += 1
        r["tokenized"] += len(c.tokenized)
        r["deadletter"] += len(c.deadlettered)
        r["expected"] = "tokens" if c.good else c.expect_reason
        got[c.kind] |= {dl["reason"] for dl in c.deadlettered} | ({"tokens"} if c.tokenized else set())
    print(f"\n{'case':<24}{'sent':>6}{'tokenized':>11}{'deadletter':>12}  {'expected':<16}{'got':<16}")
    print("-" * 85)
    for kind in order:
        r = rows[kind]
        print(f"{kind:<24}{r['sent']:>6}{r['tokenized']:>11}{r['deadletter']:>12}  {r['expected']:<16}{','.join(sorted(got[kind])) or '-':<16}")
    produced = len(cases)
    tokenized = sum(len(c.tokenized) for c in cases)
    dead = sum(len(c.deadlettered) for c in cases)
    print("-" * 85)
    print(f"{'total':<24}{produced:>6}{tokenized:>11}{dead:>12}")
    extras = {k: v for k, v in stats.items() if k not in ("raw_topic", "problems") and v}
    if extras:
        print("other records seen:", ", ".join(f"{k}={v}" for k, v in sorted(extras.items())))
    print(f"elapsed {elapsed:.1f} s")
    return produced, tokenized, dead


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True, help="Kafka bootstrap HOST:PORT")
    ap.add_argument("--prefix", default="latentlabel.", help="topic prefix (default latentlabel.)")
    ap.add_argument("--docs", type=int, default=140, help="good documents to send (default 140)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all outputs")
    ap.add_argument("--grace", type=float, default=3.0, help="extra seconds to catch duplicates")
    ap.add_argument("--seed", type=int, default=None, help="text generator seed (default random)")
    ap.add_argument("--broker-down-timeout", type=float, default=15.0,
                    help="give up when the broker is unreachable this long (default 15 s)")
    ap.add_argument("--skip", default="", help="comma-separated case kinds not to send (e.g. oversized)")
    args = ap.parse_args()
    if args.docs < 7:
        ap.error("--docs must be >= 7 (one of each good variant)")

    started = time.monotonic()
    nonce = "interop-" + secrets.token_hex(4)
    rng = random.Random(args.seed if args.seed is not None else nonce)
    raw_avro, tokens_avro, dl_avro = AvroType("RawDocument"), AvroType("TokenizedDocument"), AvroType("DeadLetter")
    raw_topic = f"{args.prefix}documents.raw"
    cases = good_cases(args.docs, nonce, raw_avro, rng) + bad_cases(nonce, raw_avro, rng) + boundary_cases(nonce, rng)
    skip = {k.strip() for k in args.skip.split(",") if k.strip()}
    unknown = skip - {c.kind for c in cases}
    if unknown:
        ap.error(f"--skip: unknown case kind(s) {sorted(unknown)}; known: {sorted({c.kind for c in cases})}")
    cases = [c for c in cases if c.kind not in skip]
    n_good = sum(c.good for c in cases)
    print(f"run {nonce}: producing {n_good} good + {len(cases) - n_good} malformed records to {raw_topic} "
          f"(RawDocument fingerprint {raw_avro.fingerprint.hex()})")
    collector = Collector(args, nonce, cases, tokens_avro, dl_avro)
    producer = make_producer(args.bootstrap)
    try:
        # Phase 2 holds the records at the size limit, sent once phase 1 is fully accounted for,
        # so a failure they cause cannot hide the results of everything else.
        for phase, batch in (("main", [c for c in cases if not c.boundary]),
                             ("boundary", [c for c in cases if c.boundary])):
            if not batch or collector.broker_lost:
                continue
            t0 = time.monotonic()
            produce(producer, raw_topic, batch)
            collector.pump(settled(batch), args.timeout)
            print(f"phase {phase}: {len(batch)} records, {sum(bool(c.tokenized or c.deadlettered) for c in batch)} "
                  f"accounted for after {time.monotonic() - t0:.1f} s")
        collector.pump(lambda: False, args.grace)  # catch duplicates and strays
    finally:
        collector.close()
    stats = collector.stats
    stats["problems"] = collector.problems
    elapsed = time.monotonic() - started

    produced, tokenized, dead = summary(cases, stats, elapsed)
    errors = stats["problems"] + verify(cases, raw_topic)
    if tokenized + dead != produced:
        errors.append(f"counts do not add up: tokenized {tokenized} + dead-lettered {dead} != produced {produced}")
    if errors:
        print(f"\nFAIL: {len(errors)} problem(s)", file=sys.stderr)
        for e in errors[:60]:
            print("  - " + e, file=sys.stderr)
        if len(errors) > 60:
            print(f"  ... {len(errors) - 60} more", file=sys.stderr)
        return 1
    print(f"\nPASS: {tokenized} tokenized + {dead} dead-lettered == {produced} produced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
