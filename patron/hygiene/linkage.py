"""Whole-database entity resolution with Splink (DuckDB here, Spark past one machine).

The model is Fellegi-Sunter with trained weights: u probabilities from random sampling,
m probabilities by expectation maximisation over two blocked samples (same email key;
same given-name key and family name), the prior from deterministic rules. A workspace
too small to train on (fewer than ``MIN_TRAIN`` contacts) uses the model shipped in
``splink_model.json`` (trained on ``benchmarks/dedupe_accuracy.py`` data).

This module knows nothing of Django: it takes rows (``LinkRow``), returns scored pairs
with per-field explanations and clusters. ``services.scan`` feeds it from the database
and writes the review queue; ``benchmarks/dedupe_accuracy.py`` feeds it generated and
FEBRL records. ADR 0021 says how the same settings run on Spark.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patron.hygiene.normalize import fold, given_name_key

MODEL_PATH = Path(__file__).with_name("splink_model.json")
MIN_TRAIN = 5_000  # contacts: below this, the shipped model's weights are used as they are
THRESHOLD = 0.5  # pairs at or above this go to the review queue (same as the real-time path)
BATCH_ROWS = 50_000
COLUMNS = (
    "unique_id",
    "first_name",
    "last_name",
    "given_key",
    "email_key",
    "phone",
    "birthday",
    "postal_code",
    "city",
    "country",
)
# Comparison output column -> the field name shown in explanations.
FIELD_NAMES = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email_key": "email",
    "phone": "phone",
    "birthday": "birthday",
    "postal_code": "postal_code",
    "city": "city",
    "country": "country",
}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkRow:
    """One record as the model sees it: matching keys, folded (empty means missing)."""

    unique_id: int
    first_name: str = ""
    last_name: str = ""
    email_key: str = ""
    phone: str = ""
    birthday: str = ""  # ISO date
    postal_code: str = ""
    city: str = ""
    country: str = ""


def link_row(
    pk: int,
    *,
    first_name: str = "",
    last_name: str = "",
    email_key: str = "",
    phone: str = "",
    birthday: Any = None,
    postal_code: str = "",
    city: str = "",
    country: str = "",
) -> LinkRow:
    """A row from stored (already normalised) values: names and places folded."""
    return LinkRow(
        unique_id=int(pk),
        first_name=fold(first_name or "")[:60],
        last_name=fold(last_name or "")[:60],
        email_key=(email_key or "")[:254],
        phone=(phone or "")[:32],
        birthday=birthday.isoformat() if hasattr(birthday, "isoformat") else (birthday or ""),
        postal_code=fold(postal_code or "")[:20],
        city=fold(city or "")[:60],
        country=(country or "").upper()[:2],
    )


@dataclass
class ScoredPair:
    a: int
    b: int
    score: float
    weight: float
    explanation: list[dict[str, Any]]
    cluster_id: int | None = None


@dataclass
class LinkResult:
    records: int = 0
    compared: int = 0
    pairs: list[ScoredPair] = field(default_factory=list)
    clusters: int = 0
    trained: bool = False
    model: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# --- the model -----------------------------------------------------------------------


def settings_for() -> Any:
    """The Splink settings: comparisons, levels and blocking rules (backend-neutral SQL)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def name(col: str, other: str, *, given: bool) -> Any:
        swapped = cll.ColumnsReversedLevel(col, other, symmetrical=True)
        levels: list[Any] = [
            cll.NullLevel(col),
            # Term-frequency adjusted: two "Smith"s are weaker evidence than two "Okonkwo"s.
            cll.ExactMatchLevel(col).configure(tf_adjustment_column=col),
            # Swapped names count once, in the given-name comparison (neutral in the other).
            swapped.configure(label_for_charts="swapped")
            if given
            else swapped.configure(label_for_charts="swapped", is_null_level=True),
        ]
        if given:
            levels.append(cll.ExactMatchLevel("given_key").configure(label_for_charts="nickname"))
        levels += [
            cll.JaroWinklerLevel(col, 0.92),
            cll.JaroWinklerLevel(col, 0.8),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=col)

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1e-6,
        comparisons=[
            name("first_name", "last_name", given=True),
            name("last_name", "first_name", given=False),
            cl.CustomComparison(
                [
                    cll.NullLevel("email_key"),
                    cll.ExactMatchLevel("email_key"),
                    # No "same user name at another provider" level: user names are made of
                    # the person's names, so it would count the name agreement twice.
                    cll.ElseLevel(),
                ],
                output_column_name="email_key",
            ),
            cl.CustomComparison(
                [
                    cll.NullLevel("phone"),
                    cll.ExactMatchLevel("phone"),
                    cll.DamerauLevenshteinLevel("phone", 1),
                    cll.ElseLevel(),
                ],
                output_column_name="phone",
            ),
            cl.DateOfBirthComparison(
                "birthday",
                input_is_string=True,
                datetime_metrics=["month", "year"],
                datetime_thresholds=[1, 1],
            ),
            cl.ExactMatch("postal_code"),
            cl.JaroWinklerAtThresholds("city", [0.92]),
            cl.ExactMatch("country"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email_key"),
            block_on("phone"),
            block_on("given_key", "last_name"),
            block_on("last_name", "birthday"),
            block_on("first_name", "birthday"),
            block_on("postal_code", "birthday"),
            block_on("last_name", "postal_code"),
            {"blocking_rule": "l.first_name = r.last_name AND l.last_name = r.first_name"},
        ],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,  # gamma_ columns name the level of each field
        additional_columns_to_retain=[],
    )


def shipped_model() -> dict[str, Any] | None:
    try:
        return dict(json.loads(MODEL_PATH.read_text()))
    except (OSError, ValueError):
        return None


# --- loading rows into DuckDB ----------------------------------------------------------


def _arrow_batches(rows: Iterable[LinkRow]) -> Iterator[Any]:
    import pyarrow as pa

    schema = pa.schema(
        [("unique_id", pa.int64())] + [(c, pa.string()) for c in COLUMNS if c != "unique_id"]
    )
    buf: dict[str, list[Any]] = {c: [] for c in COLUMNS}

    def flush() -> Any:
        batch = pa.record_batch(
            [pa.array(buf[c], type=schema.field(c).type) for c in COLUMNS], schema
        )
        for c in COLUMNS:
            buf[c].clear()
        return batch

    def nz(v: str) -> str | None:
        return v or None

    for r in rows:
        buf["unique_id"].append(r.unique_id)
        buf["first_name"].append(nz(r.first_name))
        buf["last_name"].append(nz(r.last_name))
        buf["given_key"].append(nz(given_name_key(r.first_name)))
        buf["email_key"].append(nz(r.email_key))
        buf["phone"].append(nz(r.phone))
        buf["birthday"].append(nz(r.birthday))
        buf["postal_code"].append(nz(r.postal_code))
        buf["city"].append(nz(r.city))
        buf["country"].append(nz(r.country))
        if len(buf["unique_id"]) >= BATCH_ROWS:
            yield flush()
    yield flush()


def _load(con: Any, rows: Iterable[LinkRow]) -> int:
    import pyarrow as pa

    batches = _arrow_batches(rows)
    first = next(batches)
    reader = pa.RecordBatchReader.from_batches(first.schema, _chain(first, batches))
    con.register("contacts_in", reader)
    con.execute("CREATE TABLE contacts AS SELECT * FROM contacts_in")
    con.unregister("contacts_in")
    return int(con.execute("SELECT count(*) FROM contacts").fetchall()[0][0])


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


# --- explanations ------------------------------------------------------------------------


def _level_labels(linker: Any) -> dict[str, dict[int, tuple[str, str]]]:
    """{output column: {gamma: (verdict, label)}} from the model's comparison levels."""
    out: dict[str, dict[int, tuple[str, str]]] = {}
    for comparison in linker._settings_obj.comparisons:
        col = comparison.output_column_name
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        top = max((lv.comparison_vector_value for lv in levels), default=0)
        labels: dict[int, tuple[str, str]] = {-1: ("missing", "missing")}
        for lv in levels:
            gamma = lv.comparison_vector_value
            text = str(lv.label_for_charts or "")
            if gamma == 0:
                verdict = "disagree"
            elif "reversed" in text.lower() or text == "swapped":
                verdict, text = "swapped", "swapped"
            elif gamma == top:
                verdict = "agree"
            else:
                verdict = "similar"
            labels[gamma] = (verdict, text[:80])
        out[col] = labels
    return out


def explanation_of(
    row: dict[str, Any], labels: dict[str, dict[int, tuple[str, str]]]
) -> list[dict[str, Any]]:
    """Per-field verdicts and match weights (log2 Bayes factors, term-frequency adjusted)
    of one predicted pair; never the values themselves (they may be sensitive)."""
    parts: list[dict[str, Any]] = []
    for col, levels in labels.items():
        gamma = row.get(f"gamma_{col}")
        if gamma is None:
            continue
        verdict, label = levels.get(int(gamma), ("similar", ""))
        weight = float(row.get(f"mw_{col}") or 0.0) + float(row.get(f"mw_tf_adj_{col}") or 0.0)
        item: dict[str, Any] = {
            "field": FIELD_NAMES.get(col, col),
            "verdict": verdict,
            "weight": round(weight, 2),
        }
        if verdict == "similar" and label:
            item["level"] = label
        parts.append(item)
    if any(p["field"] == "first_name" and p["verdict"] == "swapped" for p in parts):
        for p in parts:
            if p["field"] == "last_name":
                p["verdict"] = "swapped"
    return parts


def _train(linker: Any, u_sample: float) -> bool:
    """Prior, u by random sampling, m by EM over each training block that has pairs.

    Each EM session trains every comparison but the ones in its blocking rule, so the
    email rule trains names and the name rule trains email; the birthday rule covers data
    with no emails (FEBRL). A rule with no pairs in this data is skipped.
    """
    from splink import block_on
    from splink.internals.exceptions import EMTrainingException, SplinkException

    try:
        linker.training.estimate_probability_two_random_records_match(
            [
                block_on("email_key"),
                "l.phone = r.phone AND l.last_name = r.last_name",
                "l.first_name = r.first_name AND l.last_name = r.last_name "
                "AND l.birthday = r.birthday",
            ],
            recall=0.7,
        )
    except (SplinkException, ValueError, ZeroDivisionError):
        logger.info("linkage: prior not estimated; the model's prior is kept")
    linker.training.estimate_u_using_random_sampling(max_pairs=u_sample, seed=7)
    trained = 0
    for rule in (
        block_on("email_key"),
        block_on("given_key", "last_name"),
        block_on("birthday"),
    ):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=u_sample
            )
            trained += 1
        except (EMTrainingException, SplinkException):
            logger.info("linkage: EM training block %s skipped", rule)
    return trained > 0


# --- the run ---------------------------------------------------------------------------


def link(
    rows: Iterable[LinkRow],
    *,
    threshold: float = THRESHOLD,
    train: bool | None = None,
    model: dict[str, Any] | None = None,
    memory_limit: str = "6GB",
    threads: int = 2,
    on_step: Callable[[str], None] | None = None,
    em_sample: float = 2e6,
) -> LinkResult:
    """Score every blocked pair of ``rows``; pairs at or above ``threshold``, clustered.

    ``train=None`` trains when there are at least ``MIN_TRAIN`` rows; ``model`` (a saved
    Splink model) replaces the shipped one as the starting point.
    """
    import time

    import duckdb
    from splink import DuckDBAPI, Linker

    result = LinkResult()
    step_at = time.monotonic()

    def step(name: str) -> None:
        nonlocal step_at
        now = time.monotonic()
        result.timings[name] = round(now - step_at, 2)
        step_at = now
        if on_step:
            on_step(name)

    with tempfile.TemporaryDirectory(prefix="patron-splink-") as tmp:
        con = duckdb.connect(":memory:")
        con.execute(f"SET memory_limit='{memory_limit}'")
        con.execute(f"SET threads={int(threads)}")
        con.execute(f"SET temp_directory='{tmp}'")
        con.execute("SET preserve_insertion_order=false")
        result.records = _load(con, rows)
        step("load")
        if result.records < 2:
            return result
        db_api = DuckDBAPI(con)
        sdf = db_api.register("contacts")
        start = model or shipped_model()
        should_train = (result.records >= MIN_TRAIN) if train is None else train
        if start is None and not should_train:
            should_train = True
        if start is not None:
            # Shipped weights with this code's comparisons and blocking rules.
            base = settings_for().get_settings("duckdb").as_dict()
            trained = {c["output_column_name"]: c for c in start.get("comparisons", [])}
            for comparison in base["comparisons"]:
                old = trained.get(comparison["output_column_name"])
                if old and len(old["comparison_levels"]) == len(comparison["comparison_levels"]):
                    comparison["comparison_levels"] = old["comparison_levels"]
            base["probability_two_random_records_match"] = start.get(
                "probability_two_random_records_match", 1e-6
            )
            settings: Any = base
        else:
            settings = settings_for()
        linker = Linker(sdf, settings, log_level=logging.ERROR)
        if should_train:
            result.trained = _train(linker, em_sample)
            step("train")
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        step("predict")
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        step("cluster")
        labels = _level_labels(linker)
        roots: dict[Any, int] = {}
        members: list[tuple[int, Any]] = []
        for uid, cid in clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall():
            members.append((int(uid), cid))
            roots[cid] = min(roots.get(cid, int(uid)), int(uid))
        cluster_of = {uid: roots[cid] for uid, cid in members}
        for batch in predictions.as_pyarrow_table().to_batches(max_chunksize=10_000):
            for row in batch.to_pylist():
                a, b = int(row["unique_id_l"]), int(row["unique_id_r"])
                if a > b:
                    a, b = b, a
                result.pairs.append(
                    ScoredPair(
                        a=a,
                        b=b,
                        score=round(float(row["match_probability"]), 4),
                        weight=round(float(row["match_weight"]), 2),
                        explanation=explanation_of(row, labels),
                        cluster_id=cluster_of.get(a),
                    )
                )
        result.clusters = len({p.cluster_id for p in result.pairs})
        result.model = json.loads(json.dumps(linker.misc.save_model_to_json(overwrite=True)))
        step("collect")
        con.close()
    return result
