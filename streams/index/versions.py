"""Versioned indices behind aliases, and rolling out a new mapping with no downtime.

Every reader and writer uses the alias `<prefix>-<name>` (streams.settings.Settings.index);
behind it is one concrete index per mapping version, `<prefix>-<name>-v<N>`, created from
streams/index/mappings/<name>.v<N>.json. A new mapping is a new version:

    callqa index migrate [--drop-old]

  1. creates `<prefix>-<name>-v<N>` (the current version) next to the old index;
  2. copies every document into it, through the version's upgrade functions
     (streams.index.documents.UPGRADES), remembering each one's sequence number;
  3. catches up: documents written or changed meanwhile (writes still go through the alias
     to the old index) are copied again, pass after pass, until a pass finds few;
  4. blocks writes on the old index, copies the last changes, and swaps the alias to the new
     index in one atomic request. A writer that meets the block retries (IndexWriter's
     with_retry treats it as a passing outage) and its retry lands in the new index.
  5. keeps the old index, read-only, until `--drop-old`.

Readers answer from the old index until the swap and from the new one after it, complete
at every moment. An index from before the aliases (a plain `<prefix>-<name>` index) is
version 1: it is cloned to `<prefix>-<name>-v1` while it is blocked (that is the copy kept),
then deleted and replaced by the alias in the same atomic request.

`ensure` (what `callqa init` and every worker's index stage run) creates the current
version with its alias on a fresh cluster, adds new fields within a version, and runs the
migration above when the alias points at an older version. If the new index already exists
without the alias, another process is migrating (or stopped half-way): `ensure` leaves it
and says so; `callqa index migrate` (run it when no other migration is running) starts that
copy again and finishes it.

Everything here uses only APIs noida-db also speaks (aliases, update_aliases with
remove_index, clone, index.blocks.write, scroll, mget, bulk). The copy is done by this
module rather than `_reindex`, because an upgrade is Python (pinyin, derived fields).

Replicas: every index is created with CALLQA_INDEX_REPLICAS replicas, and `ensure` sets that
number on existing callqa indices when it changed; an index template `<prefix>-defaults`
(pattern `<prefix>-*`) gives it to the indices the web service creates itself (users,
sessions, access log, desk). Retention is not a lifecycle of these indices (no rollover,
no time-based indices: documents are updated by id for months): it is a purge by date,
streams/index/retention.py.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from elasticsearch import ApiError, Elasticsearch, helpers

from ..settings import CALLS_INDEX, SEGMENTS_INDEX, Settings
from .documents import INDEX_VERSIONS, mapping, upgrade

log = logging.getLogger(__name__)
NAMES = (SEGMENTS_INDEX, CALLS_INDEX)
PAGE = 500
CATCH_UP_PASSES = 5  # before blocking writes: each pass copies what changed during the last
FEW_CHANGES = 50  # a pass that finds at most this many changes is the last before the block


class MigrationError(RuntimeError):
    """A migration cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class IndexState:
    """What is behind an index name: nothing, a plain index (before aliases), or an alias."""

    alias: str
    kind: str  # "missing" | "plain" | "alias"
    indices: tuple[str, ...] = ()

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(version_of(self.alias, i) for i in self.indices)


@dataclass
class MigrationReport:
    name: str
    alias: str
    source: tuple[str, ...]
    target: str
    from_version: int
    to_version: int
    copied: int = 0
    caught_up: int = 0
    deleted: int = 0
    passes: int = 0
    blocked_s: float = 0.0
    seconds: float = 0.0
    kept: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    documents: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        kept = f"; kept {', '.join(self.kept)} (read-only)" if self.kept else ""
        dropped = f"; dropped {', '.join(self.dropped)}" if self.dropped else ""
        return (f"{self.alias}: v{self.from_version} -> v{self.to_version} ({self.target}), "
                f"{self.documents} documents: {self.copied} copied, {self.caught_up} caught up in "
                f"{self.passes} passes, {self.deleted} deleted; writes blocked {self.blocked_s:.2f} s; "
                f"{self.seconds:.1f} s{kept}{dropped}")  # fmt: skip


def concrete(alias: str, version: int) -> str:
    return f"{alias}-v{version}"


def version_of(alias: str, index: str) -> int:
    """The mapping version of a concrete index: `<alias>-v<N>[-anything]`; the plain index
    from before the aliases is version 1."""
    if index == alias:
        return 1
    found = re.fullmatch(re.escape(alias) + r"-v(\d+)(?:-.*)?", index)
    if not found:
        raise MigrationError(f"{index} is behind {alias} but is not named {alias}-v<N>")
    return int(found.group(1))


def state(es: Elasticsearch, alias: str) -> IndexState:
    if es.indices.exists_alias(name=alias):
        return IndexState(alias, "alias", tuple(sorted(es.indices.get_alias(name=alias))))
    if es.indices.exists(index=alias):
        return IndexState(alias, "plain", (alias,))
    return IndexState(alias, "missing")


def index_settings(settings: Settings, name: str, version: int) -> dict:
    """What a new `<prefix>-<name>-v<version>` is created with: its mapping file's settings,
    with CALLQA_INDEX_REPLICAS replicas."""
    return {**mapping(name, version)["settings"], "number_of_replicas": settings.index_replicas}


def _create(es: Elasticsearch, settings: Settings, index: str, name: str, version: int,
            alias: str | None = None) -> bool:  # fmt: skip
    """Create `index` from the mapping file (with `alias` on it); False if it already exists."""
    body = mapping(name, version)
    extra = {"aliases": {alias: {"is_write_index": True}}} if alias else {}
    try:
        es.indices.create(
            index=index,
            settings=index_settings(settings, name, version),
            mappings=body["mappings"],
            **extra,
        )
        return True
    except ApiError as exc:
        if "resource_already_exists" in str(exc):
            return False
        raise


def ensure(es: Elasticsearch, settings: Settings, names: Iterable[str] = NAMES) -> None:
    ensure_replicas(es, settings)
    for name in names:
        alias, version = settings.index(name), INDEX_VERSIONS[name]
        target = concrete(alias, version)
        current = state(es, alias)
        if current.kind == "missing":
            if not _create(es, settings, target, name, version, alias=alias):
                _add_alias(es, target, alias)  # the index exists, its alias not yet: a race
            continue
        if current.kind == "alias" and target in current.indices:
            es.indices.put_mapping(index=target, properties=mapping(name)["mappings"]["properties"])
            continue
        if current.kind == "alias" and min(current.versions) > version:
            log.warning("%s is at a newer version (%s) than this release writes (v%d); left as it is",
                        alias, ", ".join(current.indices), version)  # fmt: skip
            continue
        report = migrate(es, settings, name, resume=False)
        if report.notes:
            log.warning("%s does not point at %s yet: a migration is running or stopped half-way; "
                        "`callqa index migrate` finishes it", alias, target)  # fmt: skip
        else:
            log.warning("migrated %s", report.line())


def ensure_replicas(es: Elasticsearch, settings: Settings) -> None:
    """CALLQA_INDEX_REPLICAS on every `<prefix>-*` index: an index template for those created
    later (the web service's own indices), and the setting on those that exist."""
    pattern, replicas = f"{settings.index_prefix}-*", settings.index_replicas
    try:
        es.indices.put_index_template(
            name=f"{settings.index_prefix}-defaults", index_patterns=[pattern], priority=50,
            template={"settings": {"number_of_replicas": replicas}},
            meta={"managed_by": "callqa", "about": "CALLQA_INDEX_REPLICAS"},
        )  # fmt: skip
    except ApiError as exc:  # e.g. another template of the same priority overlaps the pattern
        log.warning("index template %s-defaults not written (%s); indices the web service "
                    "creates get the cluster's default replicas", settings.index_prefix, exc)  # fmt: skip
    found = es.indices.get_settings(index=pattern, allow_no_indices=True)
    stale = sorted(index for index, body in found.items()
                   if str(body["settings"]["index"].get("number_of_replicas")) != str(replicas))  # fmt: skip
    if stale:
        es.indices.put_settings(
            index=",".join(stale), settings={"index": {"number_of_replicas": replicas}}
        )
        log.warning("replicas of %s set to %d (CALLQA_INDEX_REPLICAS)", ", ".join(stale), replicas)


def _add_alias(es: Elasticsearch, index: str, alias: str) -> None:
    if not es.indices.exists_alias(name=alias):
        es.indices.update_aliases(
            actions=[{"add": {"index": index, "alias": alias, "is_write_index": True}}]
        )


# ------------------------------------------------------------------------- migration


def _scan_versions(
    es: Elasticsearch, indices: tuple[str, ...]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(index, id) -> (seq_no, primary_term) of every document, without the documents."""
    es.indices.refresh(index=",".join(indices))
    found = {}
    for hit in helpers.scan(
        es, index=",".join(indices), size=2000, _source=False, seq_no_primary_term=True
    ):
        found[(hit["_index"], hit["_id"])] = (hit["_seq_no"], hit["_primary_term"])
    return found


def _documents(es: Elasticsearch, keys: list[tuple[str, str]]) -> Iterator[dict]:
    """The current documents of (index, id) pairs, with their sequence numbers (realtime)."""
    for start in range(0, len(keys), PAGE):
        docs = [{"_index": index, "_id": doc_id} for index, doc_id in keys[start : start + PAGE]]
        for doc in es.mget(docs=docs)["docs"]:
            if doc.get("found"):
                yield doc


class _Copier:
    """Copies documents from the old indices into the new one through the upgrades."""

    def __init__(self, es: Elasticsearch, name: str, target: str, alias: str):
        self.es, self.name, self.target, self.alias = es, name, target, alias
        self.seen: dict[tuple[str, str], tuple[int, int]] = {}

    def write(self, hits: Iterable[dict]) -> int:
        def actions():
            for hit in hits:
                key = (hit["_index"], hit["_id"])
                self.seen[key] = (hit["_seq_no"], hit["_primary_term"])
                doc = upgrade(self.name, hit["_source"], version_of(self.alias, hit["_index"]))
                yield {
                    "_op_type": "index",
                    "_index": self.target,
                    "_id": hit["_id"],
                    "_source": doc,
                }

        done, errors = helpers.bulk(self.es, actions(), chunk_size=PAGE, max_chunk_bytes=20 * 2**20,
                                    raise_on_error=False)  # fmt: skip
        if errors:
            raise MigrationError(f"copying into {self.target} failed: {errors[:3]}")
        return done

    def delete(self, ids: list[str]) -> int:
        actions = ({"_op_type": "delete", "_index": self.target, "_id": i} for i in ids)
        helpers.bulk(self.es, actions, raise_on_error=False)  # a 404 (already gone) is fine
        return len(ids)

    def copy_all(self, indices: tuple[str, ...]) -> int:
        self.es.indices.refresh(index=",".join(indices))
        return self.write(
            helpers.scan(self.es, index=",".join(indices), size=PAGE, seq_no_primary_term=True)
        )

    def catch_up(self, indices: tuple[str, ...]) -> tuple[int, int]:
        """Copy what changed since it was copied, and delete what went; (copied, deleted)."""
        now = _scan_versions(self.es, indices)
        changed = [key for key, seq in now.items() if self.seen.get(key) != seq]
        gone = [key for key in self.seen if key not in now]
        copied = self.write(_documents(self.es, changed)) if changed else 0
        for key in gone:
            del self.seen[key]
        deleted = self.delete(sorted({doc_id for _, doc_id in gone})) if gone else 0
        return copied, deleted


def migrate(es: Elasticsearch, settings: Settings, name: str, drop_old: bool = False, resume: bool = True,
            progress: Callable[[str], None] = log.info) -> MigrationReport:  # fmt: skip
    """Bring index `name` to its current version behind its alias (see the module docstring);
    with `drop_old`, delete the old version's indices afterwards. When the new index exists
    already without the alias (a migration stopped half-way, or another process's), `resume`
    starts the copy again into a new one; without it, the report says so and nothing is done."""
    alias, version = settings.index(name), INDEX_VERSIONS[name]
    target = concrete(alias, version)
    started = time.monotonic()
    current = state(es, alias)
    if current.kind == "missing":
        _create(es, settings, target, name, version, alias=alias)
        report = MigrationReport(name, alias, (), target, version, version)
        report.notes.append("created (nothing to migrate)")
        return report
    if current.kind == "alias" and current.indices == (target,):
        report = MigrationReport(name, alias, (), target, version, version)
        report.notes.append("already current")
        if drop_old:
            report.dropped = _drop_retired(es, alias, version)
        return report
    source = tuple(i for i in current.indices if i != target)
    from_version = min(version_of(alias, i) for i in source)
    if from_version > version:
        raise MigrationError(f"{alias} is at v{from_version}, newer than this release's v{version}")
    report = MigrationReport(name, alias, source, target, from_version, version)
    backup = concrete(alias, 1) if current.kind == "plain" else None
    if backup and not drop_old and es.indices.exists(index=backup):
        raise MigrationError(
            f"{alias} is a plain index but {backup} exists too; move one of them aside"
        )
    if not _create(es, settings, target, name, version):
        if not resume:
            report.notes.append(f"{target} exists: another process is migrating")
            return report
        progress(f"{target} exists already, without the alias: a migration stopped half-way; "
                 "starting it again")  # fmt: skip
        es.indices.delete(index=target)
        _create(es, settings, target, name, version)
    copier = _Copier(es, name, target, alias)
    progress(f"{alias}: copying {', '.join(source)} into {target}")
    report.copied = copier.copy_all(source)
    for _ in range(CATCH_UP_PASSES):
        copied, deleted = copier.catch_up(source)
        report.passes += 1
        report.caught_up += copied
        report.deleted += deleted
        if copied + deleted <= FEW_CHANGES:
            break
    blocked_at = time.monotonic()
    _block_writes(es, source, True)
    swapped = cloned = False
    try:
        copied, deleted = copier.catch_up(source)  # the last changes: nothing moves now
        report.passes += 1
        report.caught_up += copied
        report.deleted += deleted
        es.indices.refresh(index=target)
        expected = len(copier.seen)
        documents = es.count(index=target)["count"]
        if documents != expected:
            raise MigrationError(f"{target} holds {documents} documents, {', '.join(source)} {expected}; "
                                 "the alias is left as it was")  # fmt: skip
        report.documents = documents
        actions: list[dict] = []
        if current.kind == "plain":
            if not drop_old:
                es.indices.clone(index=alias, target=backup)
                cloned = True
                report.kept = (backup,)
            actions.append({"remove_index": {"index": alias}})
        else:
            actions += [{"remove": {"index": i, "alias": alias}} for i in source]
        actions.append({"add": {"index": target, "alias": alias, "is_write_index": True}})
        es.indices.update_aliases(actions=actions)
        swapped = True
    finally:
        report.blocked_s = time.monotonic() - blocked_at
        if not swapped:  # the old index goes on as it was
            _block_writes(es, source, False)
            if cloned:
                es.indices.delete(index=backup)
    if current.kind == "alias":
        if drop_old:
            es.indices.delete(index=",".join(source))
            report.dropped = source
        else:
            report.kept = source
    elif drop_old:
        report.dropped = (alias,)
    report.seconds = time.monotonic() - started
    progress(report.line())
    return report


def _block_writes(es: Elasticsearch, indices: tuple[str, ...], blocked: bool) -> None:
    es.indices.put_settings(index=",".join(indices), settings={"index.blocks.write": blocked})


def _drop_retired(es: Elasticsearch, alias: str, version: int) -> tuple[str, ...]:
    """Delete `<alias>-v<N>` indices of older versions that no alias points at."""
    retired = []
    for index, info in sorted(es.indices.get(index=f"{alias}-v*").items()):
        try:
            old = version_of(alias, index)
        except MigrationError:
            continue
        if old < version and not info.get("aliases"):
            retired.append(index)
    if retired:
        es.indices.delete(index=",".join(retired))
    return tuple(retired)


def describe(es: Elasticsearch, settings: Settings) -> list[dict]:
    """Per index: its alias, what is behind it, its version, the current version, documents."""
    rows = []
    for name in NAMES:
        alias = settings.index(name)
        current = state(es, alias)
        count = es.count(index=alias)["count"] if current.kind != "missing" else 0
        others = []
        if current.kind != "missing":
            others = sorted(i for i in es.indices.get(index=f"{alias}-v*", ignore_unavailable=True)
                            if i not in current.indices)  # fmt: skip
        rows.append({"name": name, "alias": alias, "kind": current.kind, "indices": list(current.indices),
                     "versions": list(current.versions), "current_version": INDEX_VERSIONS[name],
                     "documents": count, "other_indices": others,
                     "up_to_date": current.kind == "alias" and current.versions == (INDEX_VERSIONS[name],)})  # fmt: skip
    return rows
